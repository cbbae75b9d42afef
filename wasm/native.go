//go:build js && wasm

package wasm

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// native reads the stream through the browser's EventSource, which does
// the HTTP, the parsing and the reconnection. Its listeners forward what
// the EventSource fires to the source's dispatcher.
type native struct {
	s  *Source
	es safejs.Value

	mu      sync.Mutex
	closed  bool
	funcs   []safejs.Func // every Func made; close releases them
	added   []added       // every listener added; close removes them
	onEvent safejs.Func   // the listener of every event type
	types   map[string]bool
}

type added struct {
	typ string
	fn  safejs.Func
}

// startNative creates the EventSource of WHATWG HTML §9.2.2
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface)
// and its listeners.
func startNative(s *Source, url string, cfg *config) (*native, error) {
	ctor, err := safejs.Global().Get("EventSource")
	if err != nil || ctor.Type() != safejs.TypeFunction {
		return nil, fmt.Errorf("wasm: Open(%q): this JavaScript environment has no EventSource", url)
	}
	es, err := ctor.New(url, map[string]any{"withCredentials": cfg.credentials})
	if err != nil {
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	n := &native{s: s, es: es, types: make(map[string]bool)}
	n.mu.Lock()
	defer n.mu.Unlock()
	// Each listener only reads the event and queues a notice: a JavaScript
	// callback must not block, and a panic in it is not recovered.
	err = n.addLocked("open", n.handleOpen)
	if err == nil {
		err = n.addLocked("error", n.handleError)
	}
	if err == nil {
		n.onEvent, err = n.funcLocked(n.handleEvent)
	}
	for _, typ := range [...]string{schema.HelloEvent, schema.ResetEvent} {
		if err == nil {
			err = n.listenLocked(typ)
		}
	}
	if err != nil {
		n.closeLocked()
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	return n, nil
}

func (n *native) funcLocked(fn func(safejs.Value, []safejs.Value) any) (safejs.Func, error) {
	f, err := funcOf(fn)
	if err != nil {
		return safejs.Func{}, err
	}
	n.funcs = append(n.funcs, f)
	return f, nil
}

func (n *native) addLocked(typ string, fn func(safejs.Value, []safejs.Value) any) error {
	f, err := n.funcLocked(fn)
	if err != nil {
		return err
	}
	return n.addListenerLocked(typ, f)
}

func (n *native) addListenerLocked(typ string, f safejs.Func) error {
	if _, err := n.es.Call("addEventListener", typ, f); err != nil {
		return err
	}
	n.added = append(n.added, added{typ, f})
	return nil
}

func (n *native) handleOpen(safejs.Value, []safejs.Value) any {
	n.s.setState(StateOpen)
	n.s.d.PostOpen()
	return nil
}

// handleError reads readyState at the moment of the error event: CONNECTING
// means the browser reconnects, CLOSED that it failed the connection, as
// WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model)
// defines the two. The event itself says nothing more.
func (n *native) handleError(safejs.Value, []safejs.Value) any {
	closed := true
	if rs, err := mustGet(n.es, "readyState").Int(); err == nil && rs != int(StateClosed) {
		closed = false
	}
	e := &ConnError{Closed: closed}
	if closed {
		n.s.setState(StateClosed)
		e.Reason = "the browser failed the connection (a status other than 200, a content type other than text/event-stream, a network or CORS failure)"
	} else {
		n.s.setState(StateConnecting)
		e.Reason = "connection lost"
	}
	n.s.d.PostError(e)
	return nil
}

func (n *native) handleEvent(_ safejs.Value, args []safejs.Value) any {
	e := arg(args, 0)
	ev := sse.Event{
		Type: stringProp(e, "type"),
		Data: stringProp(e, "data"),
		ID:   stringProp(e, "lastEventId"),
	}
	n.s.setLastID(ev.ID)
	n.s.d.PostEvent(ev, stringProp(e, "origin"))
	return nil
}

// listen makes onEvent a listener of event type name, once. A failure
// (which a working browser does not have) goes to the error handlers.
func (n *native) listen(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.listenLocked(name); err != nil {
		n.s.d.PostError(fmt.Errorf("wasm: listening to %s events: %w", strconv.Quote(name), err))
	}
}

func (n *native) listenLocked(name string) error {
	if n.closed || n.types[name] {
		return nil
	}
	if err := n.addListenerLocked(name, n.onEvent); err != nil {
		return err
	}
	n.types[name] = true
	return nil
}

// close closes the EventSource, which fires nothing afterwards (§9.2.2,
// §9.2.3), then removes and releases the listeners.
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
	n.es.Call("close")
	for _, a := range n.added {
		n.es.Call("removeEventListener", a.typ, a.fn)
	}
	for _, f := range n.funcs {
		release(f)
	}
	n.added, n.funcs = nil, nil
}
