//go:build js && wasm

package wasm

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/ssekit/ssekit/shared/client"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// ReadyState is the state of a [Source]: [StateConnecting], [StateOpen] or
// [StateClosed], the values 0, 1 and 2 of EventSource.readyState. Its String
// method gives "connecting", "open" or "closed".
type ReadyState = client.ReadyState

// The states of a [Source]. They are EventSource's CONNECTING, OPEN and
// CLOSED of WHATWG HTML §9.2.2
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface),
// named as net/http names its ConnState values.
const (
	// StateConnecting: not connected yet, or waiting to reconnect.
	StateConnecting = client.Connecting
	// StateOpen: the response was accepted and events are arriving.
	StateOpen = client.Open
	// StateClosed: closed by [Source.Close], or failed for good.
	StateClosed = client.Closed
)

// Meta describes the delivery of one event: its ID (the stream's last event
// ID when it was dispatched), its Type and the Origin of the stream.
type Meta = client.Meta

// Source is one event stream from a server, read through the browser's
// EventSource or, with [WithFetch], through fetch(). Create it with
// [Open] and register handlers right away.
//
// Handlers run one at a time, in the order the browser delivered what they
// handle, on a goroutine of the Source (never inside a JavaScript callback):
// they may block, call JavaScript and await promises, but while one runs the
// others wait. A panic in a handler is not recovered; it ends the program,
// as a panic in any goroutine does.
//
// The methods of a Source may be called from any goroutine.
type Source struct {
	url   string
	d     *client.Dispatcher
	t     transport
	state atomic.Int32

	mu     sync.Mutex
	lastID string
	closed bool
}

// transport is what reads the stream: the native EventSource or fetch().
type transport interface {
	// listen makes the transport deliver events of type name. The native
	// EventSource delivers only the types that have a listener.
	listen(name string)
	// close stops reading, aborts what is in flight and releases the
	// JavaScript functions that nothing can call any more. It never
	// blocks.
	close()
}

// Open starts reading the event stream at url, relative to the page. By
// default it creates a native EventSource; [WithFetch] reads the stream with
// fetch() instead. The source starts in state [StateConnecting]; register
// handlers before the calling goroutine blocks, or events may arrive with
// nobody to hear them.
//
// Open returns an error for an invalid option, and for a URL the browser
// cannot parse (the SyntaxError of new EventSource, §9.2.2). Everything
// that happens later, including a refused connection, goes to the
// [Source.OnError] handlers.
func Open(url string, opts ...Option) (*Source, error) {
	cfg := config{
		backoff: DefaultBackoff,
		retry:   DefaultRetry,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := cfg.err(); err != nil {
		return nil, err
	}
	s := &Source{url: url, d: client.NewDispatcher(cfg.fingerprint)}
	var err error
	if cfg.fetch != nil {
		s.t, err = startFetch(s, url, &cfg)
	} else {
		s.t, err = startNative(s, url, &cfg)
	}
	if err != nil {
		s.d.Close()
		return nil, err
	}
	go s.d.Run()
	return s, nil
}

// URL returns the URL given to [Open].
func (s *Source) URL() string { return s.url }

// ReadyState returns the source's state now. An error handler should look
// at [ConnError.Closed] instead, which keeps the state of the moment of the
// error: by the time the handler runs, a reconnecting source may be open
// again. Once [StateClosed], a source stays closed.
func (s *Source) ReadyState() ReadyState { return ReadyState(s.state.Load()) }

// setState moves the source to st, unless it is Closed already: nothing
// reopens a closed source.
func (s *Source) setState(st ReadyState) {
	for {
		old := s.state.Load()
		if ReadyState(old) == StateClosed || s.state.CompareAndSwap(old, int32(st)) {
			return
		}
	}
}

// LastEventID returns the stream's last event ID: what the source sends as
// Last-Event-ID when it reconnects. With the fetch transport it is exact,
// including IDs set by blocks without data, which the dispatch steps of
// WHATWG HTML §9.2.6
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage)
// commit too. The native EventSource does not expose it, so there it is the
// ID of the last event delivered to one of the source's listeners.
func (s *Source) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

func (s *Source) setLastID(id string) {
	s.mu.Lock()
	s.lastID = id
	s.mu.Unlock()
}

// Close closes the source: the EventSource is closed or the fetch aborted,
// pending reconnection is cancelled and ReadyState becomes [StateClosed]. Once
// Close has returned no handler starts, and events that arrived but were
// not yet handled are dropped, as EventSource.close() drops them (§9.2.6);
// a handler that is running, such as the one calling Close, finishes.
//
// Close releases the source's JavaScript functions; the fetch transport
// releases the last of them as soon as the aborted request settles. Close
// never blocks, may be called from a handler and may be called more than
// once. Call it also for a source that has failed, to release it.
func (s *Source) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.state.Store(int32(StateClosed))
	s.d.Close()
	s.t.close()
}

// On registers fn for the events named ev.Name(): each event's data is
// decoded into a T with the event's codec and passed to fn with the event's
// [Meta]. Data that does not decode goes to the [Source.OnError] handlers as
// a [*schema.DecodeError] instead, and the stream goes on. Every handler
// decodes its own value.
//
// The returned off removes the handler; once off has returned, fn is not
// called again. On panics if fn is nil or ev is the zero Event.
func On[T any](src *Source, ev schema.Event[T], fn func(v T, m Meta)) (off func()) {
	off = client.On(src.d, ev, fn)
	src.t.listen(ev.Name())
	return off
}

// OnMessage registers fn for the events that have no event field, type
// "message", undecoded.
func (s *Source) OnMessage(fn func(ev sse.Event)) (off func()) {
	off = s.d.OnMessage(fn)
	s.t.listen("message")
	return off
}

// OnOpen registers fn for every opened connection: the first and each
// reconnection, as EventSource fires open each time it announces the
// connection; see WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model).
func (s *Source) OnOpen(fn func()) (off func()) { return s.d.OnOpen(fn) }

// OnError registers fn for errors, of two kinds:
//
//   - a [*ConnError] when the connection is lost (the source reconnects) or
//     fails (it is closed for good; see [ConnError.Closed]);
//   - a [*schema.DecodeError] when an event's data does not decode into its
//     type, reserved events included. The stream goes on.
//
// Errors that happen while no error handler is registered are dropped.
func (s *Source) OnError(fn func(err error)) (off func()) { return s.d.OnError(fn) }

// OnReset registers fn for the server's ssekit.reset event: it could not
// resume from the source's Last-Event-ID, so events may have been missed
// and the application should reload its state. The stream goes on with
// live events. reason is one of the schema.Reset* constants, or a reason
// this client does not know, which means a reset all the same.
func (s *Source) OnReset(fn func(reason string)) (off func()) { return s.d.OnReset(fn) }

// OnSchemaMismatch registers fn for a server whose ssekit.hello carries a
// registry fingerprint other than that of the registry given to
// [WithRegistry]: the page was built from other event definitions,
// typically a stale bundle after a deploy, and should reload. It is called
// on every connection that mismatches. Without WithRegistry, or when the
// server has no registry (an empty fingerprint), it is never called.
func (s *Source) OnSchemaMismatch(fn func(server, client string)) (off func()) {
	return s.d.OnSchemaMismatch(fn)
}

// Events returns a channel of the values of the events named ev.Name(). It
// is [On] for a loop:
//
//	for p := range wasm.Events(ctx, src, PriceTick) {
//		show(p)
//	}
//
// The channel is closed when ctx is done or the source is closed. The
// source's handlers wait while the channel's receiver is busy, so nothing
// is dropped, but a slow receiver delays every handler of the source. Data
// that does not decode goes to the error handlers, as with On.
func Events[T any](ctx context.Context, src *Source, ev schema.Event[T]) <-chan T {
	ch := make(chan T)
	var (
		mu     sync.Mutex
		closed bool
	)
	off := On(src, ev, func(v T, _ Meta) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		select {
		case ch <- v:
		case <-ctx.Done():
		case <-src.d.Done():
		}
	})
	go func() {
		select {
		case <-ctx.Done():
		case <-src.d.Done():
		}
		off()
		mu.Lock() // a send in progress gives up once ctx or the source is done
		closed = true
		close(ch)
		mu.Unlock()
	}()
	return ch
}
