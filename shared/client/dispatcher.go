package client

import (
	"errors"
	"slices"
	"strconv"
	"sync"

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
// Its Post methods never block, so that a JavaScript event callback, which
// must never block, can call them and return. Handlers run on the Run
// goroutine, never inside a JavaScript callback, so they may block, call
// JavaScript and await promises; while one runs, later notices wait in an
// unbounded queue.
//
// It decodes typed events for the handlers of [On] and handles the
// reserved events itself: [schema.HelloEvent] is checked against the
// client's registry fingerprint (see [Dispatcher.OnSchemaMismatch]) and
// [schema.ResetEvent] goes to [Dispatcher.OnReset]. Events for which no
// handler is registered are dropped, as an EventSource drops events that
// have no listener.
//
// Every method is safe for concurrent use. A panic in a handler is not
// recovered: it crashes the program, as it would in any goroutine, with
// the handler's stack.
type Dispatcher struct {
	fingerprint string // the client registry's; "" compares nothing

	mu     sync.Mutex
	closed bool
	queue  []notice
	wake   chan struct{} // one token: the queue may have grown
	done   chan struct{} // closed by Close

	events     map[string]*handlers[func(sse.Event, Meta)]
	messages   handlers[func(sse.Event)]
	opens      handlers[func()]
	errs       handlers[func(error)]
	resets     handlers[func(reason string)]
	mismatches handlers[func(server, client string)]
}

type noticeKind uint8

const (
	kindOpen noticeKind = iota + 1
	kindError
	kindEvent
)

type notice struct {
	kind   noticeKind
	ev     sse.Event
	origin string
	err    error
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

// NewDispatcher returns a Dispatcher. fingerprint is the
// [schema.Registry.Fingerprint] of the registry the client was built with;
// each hello event's fingerprint is compared with it. With "" nothing is
// compared.
//
// It takes the fingerprint rather than the registry so that a bundle that
// never calls Fingerprint does not link its hashing.
func NewDispatcher(fingerprint string) *Dispatcher {
	return &Dispatcher{
		fingerprint: fingerprint,
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		events:      make(map[string]*handlers[func(sse.Event, Meta)]),
	}
}

// PostOpen queues an open notice: the connection was announced, in the
// words of WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model).
// It never blocks.
func (d *Dispatcher) PostOpen() { d.post(notice{kind: kindOpen}) }

// PostError queues an error for the [Dispatcher.OnError] handlers. It never
// blocks.
func (d *Dispatcher) PostError(err error) { d.post(notice{kind: kindError, err: err}) }

// PostEvent queues a dispatched event received from origin. It never
// blocks.
func (d *Dispatcher) PostEvent(ev sse.Event, origin string) {
	d.post(notice{kind: kindEvent, ev: ev, origin: origin})
}

func (d *Dispatcher) post(n notice) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, n)
	d.mu.Unlock()
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
		for len(d.queue) == 0 && !d.closed {
			d.mu.Unlock()
			select {
			case <-d.wake:
			case <-d.done:
			}
			d.mu.Lock()
		}
		if d.closed {
			d.mu.Unlock()
			return
		}
		batch, d.queue = d.queue, batch[:0]
		d.mu.Unlock()
		for i := range batch {
			d.deliver(&batch[i])
			batch[i] = notice{} // do not pin event data while idle
		}
	}
}

// Close stops delivery and drops what is queued. Once Close has returned,
// no handler starts; a handler that is running (it may be the caller)
// finishes. Close never blocks, may be called from a handler and may be
// called more than once.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	d.queue = nil
	close(d.done)
}

// Done returns a channel that is closed when Close is called.
func (d *Dispatcher) Done() <-chan struct{} { return d.done }

// On registers fn for the events named ev.Name(): it decodes each event's
// data with the event's codec into a T and calls fn with it. Data that does
// not decode goes to the [Dispatcher.OnError] handlers as a
// [*schema.DecodeError] instead, and delivery goes on with the next event.
// Each handler decodes its own value, so handlers may keep and change what
// they get.
//
// The returned off removes the handler; once off has returned, fn is not
// called again. On panics if fn is nil or ev has no name (the zero Event;
// use [schema.Define]).
func On[T any](d *Dispatcher, ev schema.Event[T], fn func(v T, m Meta)) (off func()) {
	if fn == nil {
		nilFunc("On(" + strconv.Quote(ev.Name()) + ")")
	}
	name := ev.Name()
	if name == "" {
		panic("client: On with an event that has no name; define it with schema.Define")
	}
	h := func(e sse.Event, m Meta) {
		v, err := ev.Decode([]byte(e.Data))
		if err != nil {
			d.emitError(err)
			return
		}
		fn(v, m)
	}
	d.mu.Lock()
	hs := d.events[name]
	if hs == nil {
		hs = new(handlers[func(sse.Event, Meta)])
		d.events[name] = hs
	}
	d.mu.Unlock()
	return add(d, hs, h)
}

// OnMessage registers fn for events of type "message", the events whose
// block had no event field, undecoded.
func (d *Dispatcher) OnMessage(fn func(ev sse.Event)) (off func()) {
	if fn == nil {
		nilFunc("OnMessage")
	}
	return add(d, &d.messages, fn)
}

// OnOpen registers fn for each announced connection: the first, and each
// successful reconnection, as EventSource fires open each time it announces
// the connection (§9.2.3).
func (d *Dispatcher) OnOpen(fn func()) (off func()) {
	if fn == nil {
		nilFunc("OnOpen")
	}
	return add(d, &d.opens, fn)
}

// OnError registers fn for errors: connection errors posted by the
// transport, and a [*schema.DecodeError] for every event whose data does
// not decode. Errors posted while no error handler is registered are
// dropped.
func (d *Dispatcher) OnError(fn func(err error)) (off func()) {
	if fn == nil {
		nilFunc("OnError")
	}
	return add(d, &d.errs, fn)
}

// OnReset registers fn for the server's [schema.ResetEvent]: it could not
// resume from the Last-Event-ID, so events may have been missed and the
// application should reload its state. reason is one of the schema.Reset*
// constants, a reason this client does not know, or "" when the event's
// data does not decode (the decode error goes to OnError as well).
func (d *Dispatcher) OnReset(fn func(reason string)) (off func()) {
	if fn == nil {
		nilFunc("OnReset")
	}
	return add(d, &d.resets, fn)
}

// OnSchemaMismatch registers fn for a [schema.HelloEvent] whose fingerprint
// differs from the client registry's: the page was built from other event
// definitions than the server's, typically a stale bundle after a deploy.
// It is called for every such hello, that is on every connection. There is
// no check without a registry, and an empty server fingerprint (a server
// with no registry) never mismatches.
func (d *Dispatcher) OnSchemaMismatch(fn func(server, client string)) (off func()) {
	if fn == nil {
		nilFunc("OnSchemaMismatch")
	}
	return add(d, &d.mismatches, fn)
}

func nilFunc(method string) {
	panic("client: " + method + " with a nil function")
}

func add[F any](d *Dispatcher, hs *handlers[F], fn F) (off func()) {
	e := &entry[F]{fn: fn}
	d.mu.Lock()
	// A full slice: append copies, so a delivery's snapshot stays intact.
	hs.list = append(slices.Clip(hs.list), e)
	d.mu.Unlock()
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

// each calls call with every handler of hs that is still registered, until
// the dispatcher is closed.
func each[F any](d *Dispatcher, hs *handlers[F], call func(F)) {
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

func (d *Dispatcher) deliver(n *notice) {
	switch n.kind {
	case kindOpen:
		each(d, &d.opens, func(fn func()) { fn() })
	case kindError:
		d.emitError(n.err)
	case kindEvent:
		switch n.ev.Type {
		case schema.HelloEvent:
			d.hello(n.ev.Data)
			return
		case schema.ResetEvent:
			d.reset(n.ev.Data)
			return
		case "message":
			ev := n.ev
			each(d, &d.messages, func(fn func(sse.Event)) { fn(ev) })
		}
		d.mu.Lock()
		hs := d.events[n.ev.Type]
		d.mu.Unlock()
		if hs != nil {
			ev, m := n.ev, Meta{ID: n.ev.ID, Type: n.ev.Type, Origin: n.origin}
			each(d, hs, func(fn func(sse.Event, Meta)) { fn(ev, m) })
		}
	}
}

func (d *Dispatcher) emitError(err error) {
	each(d, &d.errs, func(fn func(error)) { fn(err) })
}

// The reserved events are decoded with the zero schema.Event, whose codec
// is JSON, as the server encodes them; schema.Define refuses their names.
var (
	helloEvent schema.Event[schema.Hello]
	resetEvent schema.Event[schema.Reset]
)

func (d *Dispatcher) hello(data string) {
	h, err := helloEvent.Decode([]byte(data))
	if err != nil {
		d.emitError(named(err, schema.HelloEvent))
		return
	}
	if d.fingerprint == "" || h.Fingerprint == "" {
		return
	}
	if local := d.fingerprint; h.Fingerprint != local {
		each(d, &d.mismatches, func(fn func(string, string)) { fn(h.Fingerprint, local) })
	}
}

func (d *Dispatcher) reset(data string) {
	r, err := resetEvent.Decode([]byte(data))
	if err != nil {
		d.emitError(named(err, schema.ResetEvent))
	}
	each(d, &d.resets, func(fn func(string)) { fn(r.Reason) })
}

// named puts the reserved event's name into a decode error of the zero
// schema.Event, which has none.
func named(err error, name string) error {
	var de *schema.DecodeError
	if errors.As(err, &de) {
		de.Event = name
	}
	return err
}
