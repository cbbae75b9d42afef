//go:build js && wasm

package wasm

import (
	"errors"
	"strings"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/shared/sse"
)

// queueJS holds the JavaScript the native transport's queues are made of,
// for one source. It is all built-in functions, and no code is evaluated:
// a page whose Content-Security-Policy forbids eval (most allow WebAssembly
// with 'wasm-unsafe-eval' alone) works as well.
type queueJS struct {
	array   safejs.Value // Array
	push    safejs.Value // Array.prototype.push: handleEvent while gathering
	call    safejs.Value // Function.prototype.call
	mapFn   safejs.Value // Array.prototype.map
	getters safejs.Value // [the getters of Event.prototype.type, MessageEvent.prototype.lastEventId and .data]
	recv    safejs.Value // the port whose messages run the drain
	send    safejs.Value // the port that posts them
	message safejs.Value // what is posted: 0
}

func newQueueJS(onDrain safejs.Func) (*queueJS, error) {
	g := safejs.Global()
	js := &queueJS{}
	var err error
	get := func(v safejs.Value, props ...string) safejs.Value {
		for _, p := range props {
			if err != nil {
				return v
			}
			v, err = v.Get(p)
		}
		return v
	}
	getter := func(class, prop string) safejs.Value {
		if err != nil {
			return safejs.Undefined()
		}
		var obj, desc safejs.Value
		if obj, err = g.Get("Object"); err != nil {
			return safejs.Undefined()
		}
		if desc, err = obj.Call("getOwnPropertyDescriptor", get(g, class, "prototype"), prop); err != nil {
			return safejs.Undefined()
		}
		if desc.IsUndefined() {
			err = errors.New("no " + class + ".prototype." + prop)
			return safejs.Undefined()
		}
		return get(desc, "get")
	}
	js.array = get(g, "Array")
	js.push = get(js.array, "prototype", "push")
	js.call = get(g, "Function", "prototype", "call")
	js.mapFn = get(js.array, "prototype", "map")
	typ, id, data := getter("Event", "type"), getter("MessageEvent", "lastEventId"), getter("MessageEvent", "data")
	if err != nil {
		return nil, err
	}
	if js.getters, err = js.array.Call("of", typ, id, data); err != nil {
		return nil, err
	}
	ctor, err := g.Get("MessageChannel")
	if err != nil {
		return nil, err
	}
	ch, err := ctor.New()
	if err != nil {
		return nil, err
	}
	js.recv, js.send = get(ch, "port1"), get(ch, "port2")
	if err == nil {
		err = js.recv.Set("onmessage", onDrain) // starts the port
	}
	if err != nil {
		return nil, err
	}
	js.message, err = safejs.ValueOf(0)
	return js, err
}

// close stops the drain messages; JavaScript calls nothing of the source's
// afterwards.
func (js *queueJS) close() {
	js.recv.Set("onmessage", safejs.Null())
	js.recv.Call("close")
	js.send.Call("close")
}

// eventQueue is the listener of one EventSource for every event type: a
// JavaScript array whose handleEvent, looked up at each dispatch (DOM
// Standard §2.10, "inner invoke",
// https://dom.spec.whatwg.org/#concept-event-listener-inner-invoke), is
// the Go wake function while the queue is empty and Array.prototype.push
// while a batch gathers.
type eventQueue struct {
	v         safejs.Value
	fields    safejs.Value // a function of a getter: the array of its values over v
	gathering bool         // handleEvent is push, and a drain message is on its way
}

func (js *queueJS) newQueue(onWake safejs.Func) (*eventQueue, error) {
	v, err := js.array.New()
	if err != nil {
		return nil, err
	}
	q := &eventQueue{v: v}
	if err := v.Set("handleEvent", onWake); err != nil {
		return nil, err
	}
	// fields(getter) is Array.prototype.map.call(v, Function.prototype.call,
	// getter), that is v.map(e => getter.call(e)): a bound built-in, so
	// that js.getters.flatMap(fields) reads every field of every event in
	// one call.
	if q.fields, err = js.call.Call("bind", js.mapFn, v, js.call); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *eventQueue) push(e safejs.Value) error {
	_, err := q.v.Call("push", e)
	return err
}

// gather makes the events that follow gather in JavaScript, and posts the
// message that will drain them.
func (q *eventQueue) gather(js *queueJS, onWake safejs.Func) {
	if q.gathering {
		return
	}
	if _, err := js.send.Call("postMessage", js.message); err != nil {
		return // the next event wakes Go again
	}
	if q.v.Set("handleEvent", js.push) != nil {
		q.v.Set("handleEvent", onWake)
		return
	}
	q.gathering = true
}

// awaitWake makes the next event wake Go.
func (q *eventQueue) awaitWake(onWake safejs.Func) {
	q.v.Set("handleEvent", onWake)
	q.gathering = false
}

// take empties the queue and appends its events to dst. It reads them all
// in one string, made by two calls into JavaScript (so that Go holds two
// JavaScript values, each of which costs a finalizer): every type, then
// every ID, then every data, joined with CR, which none of them can hold (an EventSource splits its lines at CR
// and LF; WHATWG HTML §9.2.6,
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
// Events that do not fit that form (one dispatched on the EventSource by
// the page itself) are read one by one.
func (q *eventQueue) take(js *queueJS, dst []sse.Event) ([]sse.Event, error) {
	n, err := q.v.Length()
	if err != nil || n == 0 {
		return dst, err
	}
	defer q.v.Set("length", 0)
	all, err := js.getters.Call("flatMap", q.fields)
	if err != nil {
		return q.takeEach(js, n, dst)
	}
	joined, err := all.Call("join", "\r")
	if err != nil {
		return q.takeEach(js, n, dst)
	}
	s, err := joined.String()
	if err != nil {
		return q.takeEach(js, n, dst)
	}
	start := len(dst)
	for range n {
		dst = append(dst, sse.Event{})
	}
	evs := dst[start:]
	rest := s
	for i := range 3 * n {
		part := rest
		j := strings.IndexByte(rest, '\r')
		switch {
		case i < 3*n-1 && j >= 0:
			part, rest = rest[:j], rest[j+1:]
		case i < 3*n-1, j >= 0: // fewer or more parts: some field held a CR
			return q.takeEach(js, n, dst[:start])
		}
		switch ev := &evs[i%n]; i / n {
		case 0:
			ev.Type = part
		case 1:
			ev.ID = part
		default:
			ev.Data = part
		}
	}
	return dst, nil
}

// takeEach reads the n queued events one by one.
func (q *eventQueue) takeEach(js *queueJS, n int, dst []sse.Event) ([]sse.Event, error) {
	for i := range n {
		e, err := q.v.Index(i)
		if err != nil {
			return dst, err
		}
		dst = append(dst, sse.Event{Type: stringProp(e, "type"), ID: stringProp(e, "lastEventId"), Data: stringProp(e, "data")})
	}
	return dst, nil
}

// origin returns the origin of the events of the queue, from its first
// (an EventSource's events all have the origin of its final URL), or ""
// when it is empty.
func (q *eventQueue) origin() string {
	e, err := q.v.Index(0)
	if err != nil {
		return ""
	}
	return stringProp(e, "origin")
}
