//go:build js && wasm

package wasm

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/shared/client"
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
type native struct {
	s    *Source
	base string // the absolute URL given to Open
	cred bool
	wd   *client.Watchdog
	kick chan struct{} // a token: pending has work for run
	stop chan struct{} // closed by close

	mu      sync.Mutex
	closed  bool
	es      safejs.Value // the current EventSource, or undefined
	funcs   []safejs.Func
	onOpen  safejs.Func
	onError safejs.Func
	onEvent safejs.Func
	types   []string        // the event types listened to, in order
	typeSet map[string]bool // the same
	lastID  string          // of the last event queued: where a new EventSource resumes
	waiting bool            // the EventSource lost its connection and is reconnecting
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
		stop:    make(chan struct{}),
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
		n.onEvent, err = n.funcLocked(n.handleEvent)
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
	es, err := ctor.New(client.NativeURL(n.base, n.lastID), map[string]any{"withCredentials": n.cred})
	if err != nil {
		return err
	}
	listeners := [][2]any{{"open", n.onOpen}, {"error", n.onError}}
	for _, typ := range n.types {
		listeners = append(listeners, [2]any{typ, n.onEvent})
	}
	for _, l := range listeners {
		if _, err := es.Call("addEventListener", l[0], l[1]); err != nil {
			n.dropLocked(es)
			return err
		}
	}
	n.es, n.waiting = es, false
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
	n.dropLocked(n.es)
	n.es = safejs.Undefined()
}

func (n *native) dropLocked(es safejs.Value) {
	es.Call("close")
	es.Call("removeEventListener", "open", n.onOpen)
	es.Call("removeEventListener", "error", n.onError)
	for _, typ := range n.types {
		es.Call("removeEventListener", typ, n.onEvent)
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

func (n *native) handleEvent(this safejs.Value, args []safejs.Value) any {
	e := arg(args, 0)
	typ := stringProp(e, "type")
	id := stringProp(e, "lastEventId")
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.currentLocked(this) {
		return nil
	}
	n.wd.Alive()
	if client.IsHeartbeat(typ) { // no id field: it shows the ID of blocks we did not see
		if id != n.lastID {
			n.lastID = id
			n.s.d.PostID(id)
		}
		return nil
	}
	ev := sse.Event{Type: typ, Data: stringProp(e, "data"), ID: id}
	if typ == schema.HelloEvent {
		n.wd.SetInterval(client.HelloHeartbeat(ev.Data))
		// Every type the server sends, handled or not: the server's
		// heartbeats come only when the stream is silent, and the
		// watchdog must see its events to know it is not.
		for _, name := range client.HelloEvents(ev.Data) {
			n.listenLocked(name)
		}
	}
	if !n.s.d.PostEvent(ev, stringProp(e, "origin")) {
		// The handlers are a whole queue behind. EventSource cannot stop
		// reading, so close it now and resume from the last event queued
		// once they have caught up, as the server does with a client too
		// slow for its queue.
		n.disconnectLocked()
		n.wd.Pause()
		n.requestLocked(replaceFull, 0)
		return nil
	}
	n.lastID = id
	return nil
}

// listen makes onEvent a listener of event type name, once. A failure
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
	if _, err := n.es.Call("addEventListener", name, n.onEvent); err != nil {
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
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// run replaces the EventSource when asked, until close.
func (n *native) run() {
	for {
		select {
		case <-n.kick:
		case <-n.stop:
			return
		}
		n.mu.Lock()
		r, k := n.pending, n.wakeBy
		n.pending = replaceNone
		if n.closed {
			n.mu.Unlock()
			return
		}
		var e *ConnError
		switch r {
		case replaceSilent, replaceWake:
			if n.es.IsUndefined() { // failed for good, or waiting for the handlers
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
		case replaceFull:
			n.s.setState(StateConnecting)
			events, _ := n.s.d.Queued()
			n.s.d.PostError(&ConnError{
				Reason: fmt.Sprintf("the handlers fell behind by %d events: reconnecting from %q once they catch up", events, n.lastID),
				Err:    ErrQueueFull,
			})
			n.mu.Unlock()
			if !n.s.d.WaitCaughtUp(n.stop) {
				return
			}
			n.mu.Lock()
			if n.closed {
				n.mu.Unlock()
				return
			}
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
	close(n.stop)
	for _, f := range n.funcs {
		release(f)
	}
	n.funcs = nil
}
