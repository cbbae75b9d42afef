//go:build js && wasm

package wasm

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/internal/client"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// native reads the stream through the browser's EventSource, which does
// the HTTP, the parsing and the reconnection. Its listeners forward what
// the EventSource fires to the source's dispatcher.
//
// The source replaces the EventSource with a new one, resuming from the
// last event it queued, when the browser's own reconnection is not enough:
// the watchdog found the connection silent, the page came back online or
// from a freeze, or the handlers fell behind (the queue was full: the
// EventSource is closed at once, and the new one opens once the handlers
// have caught up). A new EventSource cannot send Last-Event-ID, so the
// position goes in the URL (see [client.NativeURL]). One goroutine, run,
// makes the replacements; the listeners only ask for them.
//
// Events cross into Go in batches, not one callback each: each
// EventSource's listener for every event type is a JavaScript array, the
// queue (see [eventQueue]), whose handleEvent is Array.prototype.push
// while a batch is being gathered, so that an event costs JavaScript only
// a push. The first event after a drain finds handleEvent set to wake, a
// Go function, which drains the queue at once (an event that comes alone
// is handled without delay), switches handleEvent to push and posts a
// message on a MessageChannel; the message, a task of its own after the
// events the browser had ready, drains what was pushed meanwhile and
// switches handleEvent back to wake. A drain reads the whole batch as one
// string. Timers play no part, so a hidden tab, whose timers the browser
// slows to one a second, drains as fast as a visible one.
type native struct {
	s    *Source
	base string // the absolute URL given to Open
	cred bool
	wd   *client.Watchdog
	kick chan struct{} // a token: pending has work for run, or close was called
	// caughtUp is set, with a kick, when the handlers have caught up
	// after the queue was full.
	caughtUp atomic.Bool

	mu      sync.Mutex
	closed  bool
	es      safejs.Value // the current EventSource, or undefined
	funcs   []safejs.Func
	onOpen  safejs.Func
	onError safejs.Func
	onWake  safejs.Func // handleEvent of an empty queue
	onDrain safejs.Func // onmessage of the drain channel
	js      *queueJS
	q       *eventQueue     // the current EventSource's, or nil
	origin  string          // of the current connection's events, once known
	batch   []sse.Event     // reused by drainLocked
	types   []string        // the event types listened to, in order
	typeSet map[string]bool // the same
	lastID  string          // of the last event queued: where a new EventSource resumes
	waiting bool            // the EventSource lost its connection and is reconnecting
	behind  bool            // closed for a full queue: waiting for the handlers
	pending replaceReason
	wakeBy  client.Wake // for replaceWake
}

// replaceReason is why run must replace the EventSource.
type replaceReason int

const (
	replaceNone replaceReason = iota
	replaceWake
	replaceSilent
	replaceFull // takes precedence: the EventSource is closed already
)

// startNative creates the EventSource of WHATWG HTML §9.2.2
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface)
// and its listeners, and starts the goroutine that replaces it.
func startNative(s *Source, url string, cfg *config, lastID string) (*native, error) {
	ctor, err := safejs.Global().Get("EventSource")
	if err != nil || ctor.Type() != safejs.TypeFunction {
		return nil, fmt.Errorf("wasm: Open(%q): this JavaScript environment has no EventSource", url)
	}
	abs, err := absoluteURL(url)
	if err != nil {
		// EventSource's own error for the URL: a SyntaxError (§9.2.2).
		if es, ctorErr := ctor.New(url); ctorErr != nil {
			err = ctorErr
		} else {
			es.Call("close")
		}
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	n := &native{
		s:       s,
		base:    abs,
		cred:    cfg.credentials,
		kick:    make(chan struct{}, 1),
		es:      safejs.Undefined(),
		typeSet: make(map[string]bool),
		lastID:  lastID,
	}
	n.wd = client.NewWatchdog(func() { n.request(replaceSilent, 0) })
	for _, typ := range append(client.NativeEvents(), cfg.known...) {
		if !n.typeSet[typ] {
			n.typeSet[typ] = true
			n.types = append(n.types, typ)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	// Each listener only reads the event and queues a notice: a JavaScript
	// callback must not block, and a panic in it is not recovered.
	n.onOpen, err = n.funcLocked(n.handleOpen)
	if err == nil {
		n.onError, err = n.funcLocked(n.handleError)
	}
	if err == nil {
		n.onWake, err = n.funcLocked(n.handleWake)
	}
	if err == nil {
		n.onDrain, err = n.funcLocked(n.handleDrain)
	}
	if err == nil {
		n.js, err = newQueueJS(n.onDrain)
	}
	if err == nil {
		err = n.connectLocked()
	}
	if err != nil {
		n.closeLocked()
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	go n.run()
	return n, nil
}

// absoluteURL resolves url against the page's address, as EventSource
// does.
func absoluteURL(url string) (string, error) {
	ctor, err := safejs.Global().Get("URL")
	if err != nil {
		return "", err
	}
	args := []any{url}
	if base := stringProp(mustGet(safejs.Global(), "location"), "href"); base != "" {
		args = append(args, base)
	}
	u, err := ctor.New(args...)
	if err != nil {
		return "", err
	}
	return stringProp(u, "href"), nil
}

func (n *native) funcLocked(fn func(safejs.Value, []safejs.Value) any) (safejs.Func, error) {
	f, err := funcOf(fn)
	if err != nil {
		return safejs.Func{}, err
	}
	n.funcs = append(n.funcs, f)
	return f, nil
}

// connectLocked creates an EventSource that resumes from n.lastID and asks
// for heartbeats as events, with every listener.
func (n *native) connectLocked() error {
	ctor, err := safejs.Global().Get("EventSource")
	if err != nil {
		return err
	}
	q, err := n.js.newQueue(n.onWake)
	if err != nil {
		return err
	}
	es, err := ctor.New(client.NativeURL(n.base, n.lastID), map[string]any{"withCredentials": n.cred})
	if err != nil {
		return err
	}
	listeners := [][2]any{{"open", n.onOpen}, {"error", n.onError}}
	for _, typ := range n.types {
		listeners = append(listeners, [2]any{typ, q.v})
	}
	for _, l := range listeners {
		if _, err := es.Call("addEventListener", l[0], l[1]); err != nil {
			n.dropLocked(es, q)
			return err
		}
	}
	n.es, n.q, n.origin, n.waiting = es, q, "", false
	n.s.setState(StateConnecting)
	n.wd.Resume()
	return nil
}

// disconnectLocked closes the current EventSource, which fires nothing
// afterwards (§9.2.2, §9.2.3), and removes its listeners.
func (n *native) disconnectLocked() {
	if n.es.IsUndefined() {
		return
	}
	n.dropLocked(n.es, n.q)
	n.es, n.q = safejs.Undefined(), nil
}

// dropLocked closes es and removes its listeners. Events still in q are
// dropped: they were not queued for the handlers, so the EventSource that
// replaces es, which resumes from n.lastID, gets them again.
func (n *native) dropLocked(es safejs.Value, q *eventQueue) {
	es.Call("close")
	es.Call("removeEventListener", "open", n.onOpen)
	es.Call("removeEventListener", "error", n.onError)
	for _, typ := range n.types {
		es.Call("removeEventListener", typ, q.v)
	}
}

// current reports whether this is the EventSource in use: a listener of
// one that was replaced does nothing. (A closed EventSource fires nothing,
// but a listener already running when run replaced it may still be.)
func (n *native) currentLocked(this safejs.Value) bool {
	return !n.closed && !n.es.IsUndefined() && n.es.Equal(this)
}

func (n *native) handleOpen(this safejs.Value, _ []safejs.Value) any {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.currentLocked(this) {
		return nil
	}
	n.drainLocked() // nothing overtakes the events queued before
	if !n.currentLocked(this) {
		return nil
	}
	n.origin = "" // a reconnection may have been redirected elsewhere
	n.wd.Alive()
	n.waiting = false
	n.s.setState(StateOpen)
	n.s.d.PostOpen()
	return nil
}

// handleError reads readyState at the moment of the error event: CONNECTING
// means the browser reconnects, CLOSED that it failed the connection, as
// WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model)
// defines the two. The event itself says nothing more.
func (n *native) handleError(this safejs.Value, _ []safejs.Value) any {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.currentLocked(this) {
		return nil
	}
	n.drainLocked() // the events before the error come first
	if !n.currentLocked(this) {
		return nil
	}
	if rs, err := mustGet(n.es, "readyState").Int(); err == nil && rs != int(StateClosed) {
		n.waiting = true
		n.s.setState(StateConnecting)
		n.s.d.PostError(&ConnError{Reason: "connection lost"})
		return nil
	}
	n.disconnectLocked()
	n.wd.Stop()
	n.s.setState(StateClosed)
	n.s.d.PostEnd(&ConnError{
		Closed: true,
		Reason: "the browser failed the connection (a status other than 200, a content type other than text/event-stream, a network or CORS failure)",
	})
	return nil
}

// handleWake is the handleEvent of an empty queue: it runs for the first
// event after a drain, inside its dispatch. It queues the event, drains it
// at once, and lets the events that follow gather in JavaScript until the
// drain message.
func (n *native) handleWake(this safejs.Value, args []safejs.Value) any {
	n.mu.Lock()
	defer n.mu.Unlock()
	q := n.q
	if n.closed || q == nil || !q.v.Equal(this) {
		return nil
	}
	if err := q.push(arg(args, 0)); err != nil {
		return nil
	}
	n.drainLocked()
	if n.q == q { // not replaced by the drain
		q.gather(n.js, n.onWake)
	}
	return nil
}

// handleDrain is the drain message: it drains what gathered since the
// wake, and makes the next event wake Go again.
func (n *native) handleDrain(safejs.Value, []safejs.Value) any {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.q == nil {
		return nil
	}
	q := n.q
	n.drainLocked()
	if n.q == q {
		q.awaitWake(n.onWake)
	}
	return nil
}

// drainLocked hands the current queue's events to the dispatcher, in
// order: heartbeats move the last event ID, a hello sets the watchdog's
// interval and the types listened to. When the dispatcher's queue is
// full, it closes the EventSource and asks run for a new one, which
// resumes from the last event queued: the handlers are a whole queue
// behind, and EventSource cannot stop reading.
func (n *native) drainLocked() {
	q := n.q
	if q == nil {
		return
	}
	if n.origin == "" {
		n.origin = q.origin()
	}
	evs, err := q.take(n.js, n.batch[:0])
	n.batch = evs[:0]
	if err != nil {
		n.s.d.PostError(fmt.Errorf("wasm: reading the events of the EventSource: %w", thrown(err)))
		return
	}
	if len(evs) == 0 {
		return
	}
	n.wd.Alive()
	start := 0 // of the events not yet posted
	for i := range evs {
		ev := &evs[i]
		switch {
		case client.IsHeartbeat(ev.Type): // no id field: it shows the ID of blocks we did not see
			if !n.postLocked(evs[start:i]) {
				return
			}
			start = i + 1
			if ev.ID != n.lastID {
				n.lastID = ev.ID
				n.s.d.PostID(ev.ID)
			}
		case ev.Type == schema.HelloEvent:
			n.wd.SetInterval(client.HelloHeartbeat(ev.Data))
			// Every type the server sends, handled or not: the server's
			// heartbeats come only when the stream is silent, and the
			// watchdog must see its events to know it is not.
			for _, name := range client.HelloEvents(ev.Data) {
				n.listenLocked(name)
			}
		}
	}
	n.postLocked(evs[start:])
	clear(evs) // do not pin the batch's string
}

// postLocked posts evs and reports whether all fit in the dispatcher's
// queue. When they do not, the rest of the batch is dropped with the
// EventSource, and run opens a new one from the last event queued.
func (n *native) postLocked(evs []sse.Event) bool {
	if len(evs) == 0 {
		return true
	}
	k := n.s.d.PostEvents(evs, n.origin)
	if k > 0 {
		n.lastID = evs[k-1].ID
	}
	if k == len(evs) {
		return true
	}
	n.disconnectLocked()
	n.wd.Pause()
	n.requestLocked(replaceFull, 0)
	return false
}

// listen makes the queue a listener of event type name, once. A failure
// (which a working browser does not have) goes to the error handlers.
func (n *native) listen(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.listenLocked(name)
}

func (n *native) listenLocked(name string) {
	if n.closed || n.typeSet[name] {
		return
	}
	n.typeSet[name] = true
	n.types = append(n.types, name)
	if n.es.IsUndefined() {
		return
	}
	if _, err := n.es.Call("addEventListener", name, n.q.v); err != nil {
		n.s.d.PostError(fmt.Errorf("wasm: listening to %s events: %w", strconv.Quote(name), err))
	}
}

// wake replaces the EventSource when it is reconnecting (the browser may
// wait seconds) or its connection is probably dead.
func (n *native) wake(k client.Wake) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.es.IsUndefined() || !n.wd.Woken(k, n.waiting) {
		return
	}
	n.requestLocked(replaceWake, k)
}

// sleep notes that the page went offline, was frozen or hidden.
func (n *native) sleep(k client.Wake) { n.wd.Asleep(k) }

func (n *native) request(r replaceReason, k client.Wake) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.requestLocked(r, k)
}

func (n *native) requestLocked(r replaceReason, k client.Wake) {
	if n.closed || r < n.pending {
		return
	}
	n.pending, n.wakeBy = r, k
	n.kickRun()
}

// kickRun gives run a token. It never blocks.
func (n *native) kickRun() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// run replaces the EventSource when asked, until close. It waits on one
// channel, kick, which close sends a token on too: a select would link
// runtime.selectgo into every bundle.
func (n *native) run() {
	for {
		<-n.kick
		n.mu.Lock()
		r, k := n.pending, n.wakeBy
		n.pending = replaceNone
		if n.closed {
			n.mu.Unlock()
			return
		}
		var e *ConnError
		switch {
		case n.behind: // nothing to replace until the handlers have caught up
			if !n.caughtUp.Swap(false) {
				n.mu.Unlock()
				continue
			}
			n.behind = false
		case r == replaceSilent || r == replaceWake:
			if n.es.IsUndefined() { // failed for good
				n.mu.Unlock()
				continue
			}
			wasOpen := n.s.ReadyState() == StateOpen
			n.disconnectLocked()
			if r == replaceSilent {
				e = &ConnError{Reason: fmt.Sprintf("nothing received for %v (%v)", n.wd.Timeout(), n.wd), Err: ErrSilent}
			} else if wasOpen {
				e = &ConnError{Reason: "the page came back (" + k.String() + ") and the connection is probably dead"}
			}
		case r == replaceFull:
			n.s.setState(StateConnecting)
			events, _ := n.s.d.Queued()
			n.s.d.PostError(&ConnError{
				Reason: fmt.Sprintf("the handlers fell behind by %d events: reconnecting from %q once they catch up", events, n.lastID),
				Err:    ErrQueueFull,
			})
			n.behind = true
			n.mu.Unlock()
			// The notice comes from the dispatcher with its lock held:
			// it only sets a flag and kicks.
			if !n.s.d.NotifyCaughtUp(func() {
				n.caughtUp.Store(true)
				n.kickRun()
			}) {
				return // closed
			}
			continue
		default:
			n.mu.Unlock()
			continue
		}
		err := n.connectLocked()
		n.mu.Unlock()
		if e != nil {
			n.s.d.PostError(e)
		}
		if err != nil {
			n.failConnect(err)
			return
		}
	}
}

// failConnect fails the source when a new EventSource cannot be made,
// which a browser that made the first one does not do.
func (n *native) failConnect(err error) {
	n.mu.Lock()
	n.wd.Stop()
	n.mu.Unlock()
	n.s.setState(StateClosed)
	n.s.d.PostEnd(&ConnError{Closed: true, Reason: "creating a new EventSource", Err: thrown(err)})
}

// close closes the EventSource, removes and releases the listeners and
// ends run.
func (n *native) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closeLocked()
}

func (n *native) closeLocked() {
	if n.closed {
		return
	}
	n.closed = true
	n.disconnectLocked()
	n.wd.Stop()
	n.kickRun() // run returns
	if n.js != nil {
		n.js.close()
	}
	for _, f := range n.funcs {
		release(f)
	}
	n.funcs = nil
}
