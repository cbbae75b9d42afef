//go:build js && wasm

package wasm

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ssekit/ssekit/internal/client"
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
// EventSource or, with [WithFetch] or [WithFetchFunc], through fetch().
// Create it with [Open]; register handlers with [On] and the On methods.
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
	w     *wakeListeners
	state atomic.Int32

	mu     sync.Mutex
	closed bool
}

// transport is what reads the stream: the native EventSource or fetch().
type transport interface {
	// listen makes the transport deliver events of type name. The native
	// EventSource delivers only the types that have a listener.
	listen(name string)
	// sleep tells the transport that the page went offline, was frozen or
	// was hidden, and wake that it came back (online, resumed, visible): a
	// connection that gave no sign of life meanwhile, or a wait before
	// reconnecting, should end now. They are called from JavaScript
	// callbacks: they must not block.
	sleep(k client.Wake)
	wake(k client.Wake)
	// close stops reading, aborts what is in flight and releases the
	// JavaScript functions that nothing can call any more. It never
	// blocks.
	close()
}

// Open starts reading the event stream at url, relative to the page. By
// default it creates a native EventSource; [WithFetch] and [WithFetchFunc]
// read the stream with fetch() instead. The source starts in state
// [StateConnecting] and connects at once.
//
// Handlers may be registered later: whatever the page awaits in between,
// the connection's state and the first events wait for them (see "Handlers"
// in the package documentation).
//
// Open returns an error for an invalid option, naming it, and for a URL
// the browser cannot parse (the SyntaxError of new EventSource, §9.2.2).
// Everything that happens later, including a refused connection, goes to
// the [Source.OnError] handlers.
func Open(url string, opts ...Option) (*Source, error) {
	cfg := config{
		backoff: DefaultBackoff(),
		retry:   DefaultRetry,
		limits:  DefaultLimits(),
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := cfg.err(); err != nil {
		return nil, err
	}
	fetch := cfg.fetch != nil || cfg.fetchFunc != nil
	lastID := cfg.lastID
	if !cfg.hasLastID {
		switch {
		case cfg.fetch != nil:
			for k, v := range cfg.fetch.Header {
				if strings.EqualFold(k, "Last-Event-ID") {
					lastID = v
				}
			}
		case !fetch: // a page that put the position in the URL by hand
			lastID = client.QueryLastEventID(url)
		}
	}
	s := &Source{url: url, d: client.NewDispatcher(client.Options{
		Fingerprint: cfg.fingerprint,
		Known:       cfg.known,
		Limits:      cfg.limits,
		LastEventID: lastID,
	})}
	var err error
	if cfg.sharedStart != nil {
		s.t, err = cfg.sharedStart(s, url, &cfg, lastID)
	} else {
		s.t, err = ownTransport(s, url, &cfg, lastID)
	}
	if err == nil {
		s.w, err = listenWake(s.t)
		if err != nil {
			s.t.close()
			err = fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
		}
	}
	if err != nil {
		s.d.Close()
		return nil, err
	}
	go s.d.Run()
	return s, nil
}

// ownTransport starts the transport the options ask for, reading the
// stream for s alone: fetch() with WithFetch or WithFetchFunc, the native
// EventSource otherwise.
func ownTransport(s *Source, url string, cfg *config, lastID string) (transport, error) {
	if cfg.fetchStart != nil {
		return cfg.fetchStart(s, url, cfg, lastID)
	}
	n, err := startNative(s, url, cfg, lastID)
	if err != nil {
		return nil, err
	}
	return n, nil
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

// LastEventID returns the stream's last event ID as far as the handlers
// have got: the ID of the event being handled or last handled, or a later
// one that came without an event (a block with only an id field, which the
// dispatch steps of WHATWG HTML §9.2.6 commit too,
// https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage).
// It starts at the ID of [WithLastEventID]. A page that closes the source
// and opens another from LastEventID loses nothing and gets nothing twice,
// even when events were queued and not yet handled.
//
// The native EventSource shows the ID only with the events it delivers to
// a listener, so there blocks with only an id field count once a later
// event or heartbeat shows their ID.
func (s *Source) LastEventID() string { return s.d.LastEventID() }

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
	s.w.release()
	s.t.close()
}

// On registers fn for the events named ev.Name(): each event's data is
// decoded into a T with the event's codec and passed to fn with the event's
// [Meta]. Data that does not decode goes to the [Source.OnError] handlers as
// a [*schema.DecodeError] instead, and the stream goes on. Every handler
// decodes its own value. The first handlers of a type of the registry
// ([WithRegistry]) get the events of that type that came before them.
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
// Registered while a connection is open, fn is called once for it at once.
func (s *Source) OnOpen(fn func()) (off func()) { return s.d.OnOpen(fn) }

// OnError registers fn for errors, of three kinds:
//
//   - a [*ConnError] when the connection is lost (the source reconnects) or
//     fails (it is closed for good; see [ConnError.Closed]);
//   - a [*schema.DecodeError] when an event's data does not decode into its
//     type, reserved events included. The stream goes on;
//   - an [*UnhandledError] when more events came for handlers not
//     registered yet than the [Limits] allow.
//
// Registered after an error and before the next connection opened, fn is
// called with that error first: a page that registers late still learns
// that the stream failed.
func (s *Source) OnError(fn func(err error)) (off func()) { return s.d.OnError(fn) }

// OnReset registers fn for the server's ssekit.reset event: it could not
// resume from the source's Last-Event-ID, so events may have been missed
// and the application should reload its state. The stream goes on with
// live events. reason is one of the schema.Reset* constants, or a reason
// this client does not know, which means a reset all the same. A reset
// that came while no reset handler was registered goes to the first one.
func (s *Source) OnReset(fn func(reason string)) (off func()) { return s.d.OnReset(fn) }

// OnSchemaMismatch registers fn for a server whose ssekit.hello carries a
// registry fingerprint other than that of the registry given to
// [WithRegistry]: the page was built from other event definitions,
// typically a stale bundle after a deploy, and should reload. It is called
// on every connection that mismatches, and at once when registered after
// the last hello mismatched. Without WithRegistry, or when the server has
// no registry (an empty fingerprint), it is never called.
func (s *Source) OnSchemaMismatch(fn func(server, client string)) (off func()) {
	return s.d.OnSchemaMismatch(fn)
}

// Events returns the values of the events named ev.Name() for a range
// loop, with their [Meta]. It is [On] for a loop:
//
//	for p, m := range wasm.Events(ctx, src, PriceTick) {
//		show(p, m.ID)
//	}
//
// The loop's body runs on the loop's goroutine, not on the source's, and
// its handler only queues the value: a slow body holds up the source's
// other handlers only once it is a whole [Limits] behind, and then the
// source slows the stream down rather than drop anything (see "Memory" in
// the package documentation).
//
// The loop registers its handler when it starts, so it gets the events
// held for it (see [Open]), and removes it when it ends: when the body
// breaks or returns, when ctx is done, when the source is closed, or, after
// the last values, when the source has failed for good. Data that does not
// decode goes to the error handlers, as with On. Each loop over the
// sequence gets every event from its start.
func Events[T any](ctx context.Context, src *Source, ev schema.Event[T]) iter.Seq2[T, Meta] {
	seq := client.Events(ctx, src.d, ev)
	src.t.listen(ev.Name())
	return seq
}
