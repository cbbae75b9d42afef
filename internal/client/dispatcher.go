package client

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// Meta describes the delivery of one event, as its MessageEvent does.
type Meta struct {
	// ID is the stream's last event ID when the event was dispatched
	// (MessageEvent.lastEventId); it may come from an earlier event.
	ID string
	// Type is the event type: the name of the event, or "message".
	Type string
	// Origin is the origin of the stream's final URL, after redirects, such
	// as "https://example.com": MessageEvent.origin in the dispatch steps of
	// WHATWG HTML §9.2.6
	// (https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage).
	Origin string
}

// Dispatcher hands what a source receives (opens, errors, events) to the
// handlers registered for it, one notice at a time and in the order they
// were posted, on the goroutine that calls [Dispatcher.Run].
//
// # Posting
//
// [Dispatcher.PostOpen], [Dispatcher.PostError], [Dispatcher.PostEnd],
// [Dispatcher.PostID] and [Dispatcher.PostEvent] never block, so that a
// JavaScript event callback, which must never block, can call them and
// return. Handlers run on the Run goroutine, never inside a JavaScript
// callback, so they may block, call JavaScript and await promises.
//
// Events wait for the handlers in a queue bounded by the [Limits] given to
// [NewDispatcher]. When it is full, PostEvent refuses the event (a
// transport that cannot wait closes its connection and resumes later, see
// [Dispatcher.WaitCaughtUp]) and [Dispatcher.SendEvent] waits for room (a
// transport that reads a stream stops reading). Opens, errors and IDs are
// never refused; a transport posts few of them.
//
// # Handlers registered late
//
// A handler takes effect between two notices, never in the middle of the
// delivery of one, and then gets what it missed of the connection's state,
// before any later notice:
//
//   - an [Dispatcher.OnOpen] handler is called once if the last connection
//     opened and has not been lost since;
//   - an [Dispatcher.OnError] handler is called with the last error if no
//     connection has opened since;
//   - an [Dispatcher.OnSchemaMismatch] handler is called if the last hello
//     mismatched;
//   - an [Dispatcher.OnReset] handler gets a reset that no reset handler
//     has received;
//   - the first handlers of an event type get the events of that type that
//     arrived before them, when the type is one of the known types given to
//     NewDispatcher (the client's registry): they are held, in order, up to
//     the Limits. Past them, the held events are dropped, the error
//     handlers get an [*UnhandledError], and from then on events that no
//     handler wants are dropped as they arrive, as an EventSource drops
//     events that have no listener. Other types are never held.
//
// So a page may await something between opening a stream and registering
// its handlers, and lose neither the hello's verdict nor the first events.
//
// # Reserved events
//
// It decodes typed events for the handlers of [On] and handles the
// reserved events itself: [schema.HelloEvent] is checked against the
// client's registry fingerprint (see [Dispatcher.OnSchemaMismatch]) and
// [schema.ResetEvent] goes to [Dispatcher.OnReset].
//
// Every method is safe for concurrent use. A panic in a handler is not
// recovered: it crashes the program, as it would in any goroutine, with
// the handler's stack.
type Dispatcher struct {
	fingerprint string          // the client registry's; "" compares nothing
	known       map[string]bool // the event types held for late handlers
	limits      Limits
	tap         func(Notice) // Options.Tap

	urgent atomic.Bool // front is not empty

	mu      sync.Mutex
	closed  bool
	queue   []notice // posted, not yet taken by Run
	front   []activation
	events  int // event notices posted and not yet delivered
	bytes   int // their size
	waiters []*waiter
	wake    chan struct{} // one token: the queue may have grown
	done    chan struct{} // closed by Close
	ended   chan struct{} // closed when an end notice has been delivered, or by Close
	isEnded bool

	// The state as delivered, for handlers registered later. The Run
	// goroutine writes it, under mu.
	lastID     string
	open       bool
	lastErr    error
	mismatch   [2]string // server, client
	mismatched bool
	reset      string
	resetHeld  bool
	held       map[string][]notice
	heldEvents int
	heldBytes  int
	holding    bool // false once the hold limit was passed

	eventHandlers map[string]*handlers[func(*notice)]
	messages      handlers[func(sse.Event)]
	opens         handlers[func()]
	errs          handlers[func(error)]
	resets        handlers[func(reason string)]
	mismatches    handlers[func(server, client string)]
}

// Options configures a [Dispatcher].
type Options struct {
	// Fingerprint is the [schema.Registry.Fingerprint] of the registry the
	// client was built with; each hello event's fingerprint is compared
	// with it. With "" nothing is compared.
	Fingerprint string
	// Known lists the event types whose events are held until a handler
	// for them exists: the names of the client's registry.
	Known []string
	// Limits bounds the queue and the held events; the zero Limits means
	// [DefaultLimits]. It must otherwise be valid ([Limits.Validate]).
	Limits Limits
	// LastEventID is the stream's position before anything is delivered:
	// where the source resumes from.
	LastEventID string
	// Tap, when not nil, receives every notice instead of the handlers
	// (see [Notice]).
	Tap func(Notice)
}

type noticeKind uint8

const (
	kindOpen noticeKind = iota + 1
	kindError
	kindEnd
	kindEvent
	kindID
)

type notice struct {
	kind   noticeKind
	ev     sse.Event
	origin string
	err    error
	size   int
}

// activation is a handler registered since the Run goroutine last looked.
// It runs on the Run goroutine with d.mu held, adds the handler, and
// returns what the handler missed (or nil), to call once d.mu is released.
type activation func() (replay func())

// waiter is a goroutine in SendEvent or WaitCaughtUp.
type waiter struct {
	ready  func() bool // called with d.mu held
	ch     chan struct{}
	notify func() // instead of ch, for NotifyCaughtUp
}

// release lets w go on: w is ready.
func (w *waiter) release() {
	if w.notify != nil {
		w.notify()
		return
	}
	close(w.ch)
}

// handlers is a copy-on-write list: a delivery iterates over the slice it
// read under the lock while handlers are added and removed.
type handlers[F any] struct {
	list []*entry[F]
}

type entry[F any] struct {
	fn  F
	off bool // removed; guarded by Dispatcher.mu
}

// NewDispatcher returns a Dispatcher. It panics if o.Limits is neither
// zero nor valid.
//
// It takes the fingerprint rather than the registry so that a bundle that
// never calls Fingerprint does not link its hashing.
func NewDispatcher(o Options) *Dispatcher {
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits()
	}
	if err := o.Limits.Validate(); err != nil {
		panic(err.Error())
	}
	d := &Dispatcher{
		fingerprint:   o.Fingerprint,
		known:         make(map[string]bool, len(o.Known)),
		limits:        o.Limits,
		tap:           o.Tap,
		wake:          make(chan struct{}, 1),
		done:          make(chan struct{}),
		ended:         make(chan struct{}),
		lastID:        o.LastEventID,
		held:          make(map[string][]notice),
		holding:       true,
		eventHandlers: make(map[string]*handlers[func(*notice)]),
	}
	for _, name := range o.Known {
		d.known[name] = true
	}
	return d
}

// Limits returns the dispatcher's limits.
func (d *Dispatcher) Limits() Limits { return d.limits }

// PostOpen queues an open notice: the connection was announced, in the
// words of WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model).
// It never blocks.
func (d *Dispatcher) PostOpen() { d.post(notice{kind: kindOpen}) }

// PostError queues a connection error for the [Dispatcher.OnError]
// handlers: the connection was lost, or an attempt failed. It never blocks.
func (d *Dispatcher) PostError(err error) { d.post(notice{kind: kindError, err: err}) }

// PostEnd queues the error that ends the stream for good: the source will
// not reconnect. Once its handlers have run, [Dispatcher.Ended] is closed.
// It never blocks.
func (d *Dispatcher) PostEnd(err error) { d.post(notice{kind: kindEnd, err: err}) }

// PostID queues a change of the stream's last event ID that came with no
// event: a block with an id field and no data, which the dispatch steps of
// §9.2.6 commit all the same, or a heartbeat.
// [Dispatcher.LastEventID] follows it once what was posted before has been
// delivered. It never blocks.
func (d *Dispatcher) PostID(id string) { d.post(notice{kind: kindID, ev: sse.Event{ID: id}}) }

// PostEvent queues a dispatched event received from origin, and reports
// whether it did: it returns false, and drops the event, when the queue is
// full (see [Limits]) or the dispatcher is closed. It never blocks.
func (d *Dispatcher) PostEvent(ev sse.Event, origin string) bool {
	n := notice{kind: kindEvent, ev: ev, origin: origin, size: EventSize(ev.Type, ev.ID, ev.Data)}
	d.mu.Lock()
	if d.closed || !d.limits.fits(d.events, d.bytes, n.size) {
		d.mu.Unlock()
		return false
	}
	d.pushLocked(n)
	d.mu.Unlock()
	d.signal()
	return true
}

// PostEvents queues the events of evs, all received from origin, in
// order, as PostEvent does for each, under one lock and with one wake-up
// of the Run goroutine: a transport that reads events in batches (the
// native transport drains the events JavaScript queued, the fetch
// transport decodes a whole chunk) posts each batch at once. It returns
// how many it queued: all of them, or, when the queue fills up, those
// before the first that did not fit (none when the dispatcher is closed).
// It never blocks.
func (d *Dispatcher) PostEvents(evs []sse.Event, origin string) int {
	d.mu.Lock()
	i := 0
	for ; i < len(evs) && !d.closed; i++ {
		ev := evs[i]
		n := notice{kind: kindEvent, ev: ev, origin: origin, size: EventSize(ev.Type, ev.ID, ev.Data)}
		if !d.limits.fits(d.events, d.bytes, n.size) {
			break
		}
		d.pushLocked(n)
	}
	d.mu.Unlock()
	if i > 0 {
		d.signal()
	}
	return i
}

// SendEvent queues an event as [Dispatcher.PostEvent] does, waiting while
// the queue is full. It returns false, without queueing the event, if stop
// is closed or the dispatcher is closed first. It is for a goroutine that
// reads a stream, never for a JavaScript callback: waiting is how it stops
// reading.
func (d *Dispatcher) SendEvent(ev sse.Event, origin string, stop <-chan struct{}) bool {
	n := notice{kind: kindEvent, ev: ev, origin: origin, size: EventSize(ev.Type, ev.ID, ev.Data)}
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return false
		}
		if d.limits.fits(d.events, d.bytes, n.size) {
			d.pushLocked(n)
			d.mu.Unlock()
			d.signal()
			return true
		}
		w := &waiter{ready: func() bool { return d.limits.fits(d.events, d.bytes, n.size) }, ch: make(chan struct{})}
		d.waiters = append(d.waiters, w)
		d.mu.Unlock()
		if !d.wait(w, stop) {
			return false
		}
	}
}

// WaitCaughtUp waits until the handlers have caught up: at most half of
// each limit is queued. It returns false if stop is closed or the
// dispatcher is closed first. A transport whose queue overflowed waits for
// it before it reconnects, so that it does not overflow again at once.
func (d *Dispatcher) WaitCaughtUp(stop <-chan struct{}) bool {
	caughtUp := func() bool { return d.events <= d.limits.Events/2 && d.bytes <= d.limits.Bytes/2 }
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return false
	}
	if caughtUp() {
		d.mu.Unlock()
		return true
	}
	w := &waiter{ready: caughtUp, ch: make(chan struct{})}
	d.waiters = append(d.waiters, w)
	d.mu.Unlock()
	return d.wait(w, stop)
}

// NotifyCaughtUp calls notify once the handlers have caught up, as
// [Dispatcher.WaitCaughtUp] waits for: at once, on the calling goroutine,
// if they have, otherwise later, from the Run goroutine, with the
// dispatcher's lock held (notify must not block or call the dispatcher;
// a transport sends itself a token). It returns false, and never calls
// notify, if the dispatcher is closed. It never blocks.
func (d *Dispatcher) NotifyCaughtUp(notify func()) bool {
	caughtUp := func() bool { return d.events <= d.limits.Events/2 && d.bytes <= d.limits.Bytes/2 }
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return false
	}
	if !caughtUp() {
		d.waiters = append(d.waiters, &waiter{ready: caughtUp, notify: notify})
		d.mu.Unlock()
		return true
	}
	d.mu.Unlock()
	notify()
	return true
}

// wait waits for w, stop or Close, and removes w if it gave up.
func (d *Dispatcher) wait(w *waiter, stop <-chan struct{}) bool {
	select {
	case <-w.ch:
		return true
	case <-stop:
	case <-d.done:
	}
	d.mu.Lock()
	d.waiters = slices.DeleteFunc(d.waiters, func(x *waiter) bool { return x == w })
	d.mu.Unlock()
	return false
}

// Queued returns the events posted and not yet delivered, and their size.
func (d *Dispatcher) Queued() (events, bytes int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.events, d.bytes
}

// LastEventID returns the stream's last event ID as far as the handlers
// have got: that of the event being or last delivered, or of a later
// [Dispatcher.PostID] that has been reached, or the Options' LastEventID
// before anything. A source that resumes from it after Close loses
// nothing that was posted but not delivered.
func (d *Dispatcher) LastEventID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastID
}

func (d *Dispatcher) pushLocked(n notice) {
	d.queue = append(d.queue, n)
	d.events++
	d.bytes += n.size
}

func (d *Dispatcher) post(n notice) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, n)
	d.mu.Unlock()
	d.signal()
}

func (d *Dispatcher) signal() {
	select {
	case d.wake <- struct{}{}:
	default: // a token is already waiting
	}
}

// Run delivers queued notices until [Dispatcher.Close]. Call it once, in a
// goroutine of its own.
func (d *Dispatcher) Run() {
	var batch []notice
	for {
		d.mu.Lock()
		for len(d.queue) == 0 && len(d.front) == 0 && !d.closed {
			d.mu.Unlock()
			<-d.wake // Close signals it too: a select would link runtime.selectgo into every bundle
			d.mu.Lock()
		}
		if d.closed {
			d.mu.Unlock()
			return
		}
		if len(d.front) > 0 {
			d.activateLocked() // unlocks
			continue
		}
		batch, d.queue = d.queue, batch[:0]
		d.mu.Unlock()
		for i := range batch {
			d.deliver(&batch[i])
			batch[i] = notice{} // do not pin event data while idle
			if d.urgent.Load() {
				d.mu.Lock()
				d.activateLocked()
			}
		}
	}
}

// activateLocked adds the handlers registered since the last time, then,
// with d.mu released, gives them what they missed. All are added before
// any replay, so that handlers registered together share the events held
// for them.
func (d *Dispatcher) activateLocked() {
	front := d.front
	d.front = nil
	d.urgent.Store(false)
	var replays []func()
	for _, act := range front {
		if r := act(); r != nil {
			replays = append(replays, r)
		}
	}
	d.mu.Unlock()
	for _, r := range replays {
		r()
	}
}

// Close stops delivery and drops what is queued and held. Once Close has
// returned, no handler starts; a handler that is running (it may be the
// caller) finishes. Close never blocks, may be called from a handler and
// may be called more than once.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	d.queue, d.front, d.held = nil, nil, nil
	close(d.done)
	if !d.isEnded {
		d.isEnded = true
		close(d.ended)
	}
	d.signal() // Run returns
}

// Done returns a channel that is closed when Close is called.
func (d *Dispatcher) Done() <-chan struct{} { return d.done }

// Ended returns a channel that is closed once the handlers of a
// [Dispatcher.PostEnd] error have run, or Close is called: nothing will be
// delivered after what was delivered before it.
func (d *Dispatcher) Ended() <-chan struct{} { return d.ended }

// On registers fn for the events named ev.Name(): it decodes each event's
// data with the event's codec into a T and calls fn with it. Data that does
// not decode goes to the [Dispatcher.OnError] handlers as a
// [*schema.DecodeError] instead, and delivery goes on with the next event.
// Each handler decodes its own value, so handlers may keep and change what
// they get. The first handlers of a known type get the events held for
// them first.
//
// The returned off removes the handler; once off has returned, fn is not
// called again. On panics if fn is nil or ev has no name (the zero Event;
// use [schema.Define]).
func On[T any](d *Dispatcher, ev schema.Event[T], fn func(v T, m Meta)) (off func()) {
	if fn == nil {
		nilFunc("On(" + strconv.Quote(ev.Name()) + ")")
	}
	return onEvent(d, ev, func(v T, m Meta, _ int) { fn(v, m) })
}

// onEvent is On with the size of each event, for Events.
func onEvent[T any](d *Dispatcher, ev schema.Event[T], fn func(v T, m Meta, size int)) (off func()) {
	name := ev.Name()
	if name == "" {
		panic("client: On with an event that has no name; define it with schema.Define")
	}
	h := func(n *notice) {
		v, err := ev.DecodeString(n.ev.Data)
		if err != nil {
			d.emitError(err)
			return
		}
		fn(v, Meta{ID: n.ev.ID, Type: n.ev.Type, Origin: n.origin}, n.size)
	}
	d.mu.Lock()
	hs := d.eventHandlers[name]
	if hs == nil {
		hs = new(handlers[func(*notice)])
		d.eventHandlers[name] = hs
	}
	d.mu.Unlock()
	return add(d, hs, h, func() func() {
		held := d.held[name]
		if len(held) == 0 {
			return nil
		}
		delete(d.held, name)
		for _, n := range held {
			d.heldEvents--
			d.heldBytes -= n.size
		}
		return func() {
			for i := range held {
				d.each(hs, &held[i])
			}
		}
	})
}

// OnMessage registers fn for events of type "message", the events whose
// block had no event field, undecoded. They are never held.
func (d *Dispatcher) OnMessage(fn func(ev sse.Event)) (off func()) {
	if fn == nil {
		nilFunc("OnMessage")
	}
	return add(d, &d.messages, fn, nil)
}

// OnOpen registers fn for each announced connection: the first, and each
// successful reconnection, as EventSource fires open each time it announces
// the connection (§9.2.3). Registered while a connection is
// open, fn is called once for it.
func (d *Dispatcher) OnOpen(fn func()) (off func()) {
	if fn == nil {
		nilFunc("OnOpen")
	}
	return add(d, &d.opens, fn, func() func() {
		if !d.open {
			return nil
		}
		return fn
	})
}

// OnError registers fn for errors: connection errors posted by the
// transport, a [*schema.DecodeError] for every event whose data does not
// decode, and an [*UnhandledError] when held events are dropped.
// Registered after an error and before the next open, fn is called with
// the last error first.
func (d *Dispatcher) OnError(fn func(err error)) (off func()) {
	if fn == nil {
		nilFunc("OnError")
	}
	return add(d, &d.errs, fn, func() func() {
		err := d.lastErr
		if err == nil {
			return nil
		}
		return func() { fn(err) }
	})
}

// OnReset registers fn for the server's [schema.ResetEvent]: it could not
// resume from the Last-Event-ID, so events may have been missed and the
// application should reload its state. reason is one of the schema.Reset*
// constants, a reason this client does not know, or "" when the event's
// data does not decode (the decode error goes to OnError as well). A reset
// that came while no reset handler was registered goes to the first ones.
func (d *Dispatcher) OnReset(fn func(reason string)) (off func()) {
	if fn == nil {
		nilFunc("OnReset")
	}
	return add(d, &d.resets, fn, func() func() {
		if !d.resetHeld {
			return nil
		}
		reason := d.reset
		d.resetHeld, d.reset = false, ""
		return func() { eachFn(d, &d.resets, func(fn func(string)) { fn(reason) }) }
	})
}

// OnSchemaMismatch registers fn for a [schema.HelloEvent] whose fingerprint
// differs from the client registry's: the page was built from other event
// definitions than the server's, typically a stale bundle after a deploy.
// It is called for every such hello, that is on every connection, and once
// at once when registered after one. There is no check without a registry,
// and an empty server fingerprint (a server with no registry) never
// mismatches.
func (d *Dispatcher) OnSchemaMismatch(fn func(server, client string)) (off func()) {
	if fn == nil {
		nilFunc("OnSchemaMismatch")
	}
	return add(d, &d.mismatches, fn, func() func() {
		if !d.mismatched {
			return nil
		}
		m := d.mismatch
		return func() { fn(m[0], m[1]) }
	})
}

func nilFunc(method string) {
	panic("client: " + method + " with a nil function")
}

// add registers fn in hs once the Run goroutine gets to it; replay, when
// not nil, runs then, with d.mu held, and returns what fn missed.
func add[F any](d *Dispatcher, hs *handlers[F], fn F, replay func() func()) (off func()) {
	e := &entry[F]{fn: fn}
	d.mu.Lock()
	if !d.closed {
		d.front = append(d.front, func() func() {
			if e.off {
				return nil
			}
			// A full slice: append copies, so a delivery's snapshot stays
			// intact.
			hs.list = append(slices.Clip(hs.list), e)
			if replay == nil {
				return nil
			}
			r := replay()
			if r == nil {
				return nil
			}
			return func() {
				d.mu.Lock()
				skip := e.off || d.closed
				d.mu.Unlock()
				if !skip {
					r()
				}
			}
		})
		d.urgent.Store(true)
	}
	d.mu.Unlock()
	d.signal()
	return func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if e.off {
			return
		}
		e.off = true
		hs.list = slices.DeleteFunc(slices.Clone(hs.list), func(x *entry[F]) bool { return x == e })
	}
}

// eachFn calls call with every handler of hs that is still registered,
// until the dispatcher is closed.
func eachFn[F any](d *Dispatcher, hs *handlers[F], call func(F)) {
	d.mu.Lock()
	list := hs.list
	d.mu.Unlock()
	for _, e := range list {
		d.mu.Lock()
		closed, off := d.closed, e.off
		d.mu.Unlock()
		if closed {
			return
		}
		if !off {
			call(e.fn)
		}
	}
}

// each delivers an event to the handlers of its type.
func (d *Dispatcher) each(hs *handlers[func(*notice)], n *notice) {
	eachFn(d, hs, func(fn func(*notice)) { fn(n) })
}

func (d *Dispatcher) deliver(n *notice) {
	if d.tap != nil {
		d.tapNotice(n)
		return
	}
	switch n.kind {
	case kindOpen:
		d.mu.Lock()
		d.open, d.lastErr = true, nil
		d.mu.Unlock()
		eachFn(d, &d.opens, func(fn func()) { fn() })
	case kindError, kindEnd:
		d.mu.Lock()
		d.open = false
		d.mu.Unlock()
		d.emitError(n.err)
		if n.kind == kindEnd {
			d.mu.Lock()
			if !d.isEnded {
				d.isEnded = true
				close(d.ended)
			}
			d.mu.Unlock()
		}
	case kindID:
		d.mu.Lock()
		d.lastID = n.ev.ID
		d.mu.Unlock()
	case kindEvent:
		d.event(n)
	}
}

func (d *Dispatcher) event(n *notice) {
	d.mu.Lock()
	d.takeLocked(n)
	typ := n.ev.Type
	switch typ {
	case schema.HelloEvent:
		d.mu.Unlock()
		d.hello(n.ev.Data)
		return
	case schema.ResetEvent:
		d.mu.Unlock()
		d.resetEvent(n.ev.Data)
		return
	case "message":
		d.mu.Unlock()
		ev := n.ev
		eachFn(d, &d.messages, func(fn func(sse.Event)) { fn(ev) })
		return
	}
	hs := d.eventHandlers[typ]
	if (hs == nil || len(hs.list) == 0) && d.known[typ] && d.holding && !d.closed {
		err := d.holdLocked(n)
		d.mu.Unlock()
		if err != nil {
			d.emitError(err)
		}
		return
	}
	d.mu.Unlock()
	if hs != nil {
		d.each(hs, n)
	}
}

// takeLocked accounts for the delivery of the event notice n: the last
// event ID moves, the queue shrinks, and waiters that now fit go on.
func (d *Dispatcher) takeLocked(n *notice) {
	d.lastID = n.ev.ID
	d.events--
	d.bytes -= n.size
	for i := 0; i < len(d.waiters); {
		if w := d.waiters[i]; w.ready() {
			w.release()
			d.waiters = slices.Delete(d.waiters, i, i+1)
			continue
		}
		i++
	}
}

// holdLocked keeps n for the first handler of its type, or, past the
// limits, drops everything held and stops holding.
func (d *Dispatcher) holdLocked(n *notice) error {
	if d.limits.fits(d.heldEvents, d.heldBytes, n.size) {
		d.held[n.ev.Type] = append(d.held[n.ev.Type], *n)
		d.heldEvents++
		d.heldBytes += n.size
		return nil
	}
	e := &UnhandledError{Dropped: d.heldEvents + 1}
	for typ := range d.held {
		e.Types = append(e.Types, typ)
	}
	if _, ok := d.held[n.ev.Type]; !ok {
		e.Types = append(e.Types, n.ev.Type)
	}
	sortStrings(e.Types)
	d.held = make(map[string][]notice)
	d.heldEvents, d.heldBytes = 0, 0
	d.holding = false
	return e
}

// sortStrings sorts the few types of an UnhandledError. It is an
// insertion sort rather than package sort's, whose generic pdqsort adds
// about 4 KB of brotli to a bundle for this one error.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// UnhandledError reports the events a [Dispatcher] held for handlers that
// were not registered in time: more events arrived before them than the
// [Limits] allow. The held events are dropped, and from then on events no
// handler wants are dropped as they arrive.
type UnhandledError struct {
	// Dropped is the number of events dropped.
	Dropped int
	// Types are their types, sorted.
	Types []string
}

func (e *UnhandledError) Error() string {
	return fmt.Sprintf("client: dropped %d events that arrived before any handler for them (types %s); events with no handler are dropped from now on",
		e.Dropped, strings.Join(e.Types, ", "))
}

// emitError hands err to the error handlers, and keeps it as the last
// error for handlers registered later.
func (d *Dispatcher) emitError(err error) {
	d.mu.Lock()
	d.lastErr = err
	d.mu.Unlock()
	eachFn(d, &d.errs, func(fn func(error)) { fn(err) })
}

// The reserved events are decoded with schema's own definitions, the ones
// the server encodes them with; schema.Define refuses their names.
var (
	helloEvent = schema.HelloDefinition()
	resetEvent = schema.ResetDefinition()
)

func (d *Dispatcher) hello(data string) {
	h, err := helloEvent.Decode([]byte(data))
	if err != nil {
		d.emitError(named(err, schema.HelloEvent))
		return
	}
	local := d.fingerprint
	mismatch := local != "" && h.Fingerprint != "" && h.Fingerprint != local
	d.mu.Lock()
	d.mismatched = mismatch
	d.mismatch = [2]string{h.Fingerprint, local}
	d.mu.Unlock()
	if mismatch {
		eachFn(d, &d.mismatches, func(fn func(string, string)) { fn(h.Fingerprint, local) })
	}
}

func (d *Dispatcher) resetEvent(data string) {
	r, err := resetEvent.Decode([]byte(data))
	if err != nil {
		d.emitError(named(err, schema.ResetEvent))
	}
	d.mu.Lock()
	if len(d.resets.list) == 0 {
		d.resetHeld, d.reset = true, r.Reason
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	eachFn(d, &d.resets, func(fn func(string)) { fn(r.Reason) })
}

// named puts the reserved event's name into a decode error of the zero
// schema.Event, which has none.
func named(err error, name string) error {
	if de, ok := err.(*schema.DecodeError); ok { // what Event.Decode returns
		de.Event = name
	}
	return err
}
