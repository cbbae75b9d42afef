//go:build js && wasm

// Package wasm receives a server's typed events in a Go WebAssembly page:
// it reads a Server-Sent Events stream through the browser's EventSource
// (or through fetch(), to POST or send headers) and hands each event to the
// application as the Go value the server published.
//
// Define the events once, in a package that both the server and the page
// import (see package schema):
//
//	type Price struct {
//		Symbol string `json:"symbol"`
//		Cents  int64  `json:"cents"`
//	}
//
//	var PriceTick = schema.Define[Price]("price.tick")
//
// then, in the page's main package, open the stream and handle the event:
//
//	src, err := wasm.Open("/events?topic=prices")
//	if err != nil {
//		println(err.Error())
//		return
//	}
//	wasm.On(src, PriceTick, func(p Price, m wasm.Meta) {
//		println(p.Symbol, p.Cents, m.ID)
//	})
//	select {} // keep the program, and its handlers, alive
//
// When the server publishes Price{Symbol: "ACME", Cents: 12345}, the page's
// console shows
//
//	ACME 12345 3f9a1c0b7d2e-17
//
// where 3f9a1c0b7d2e-17 is the ID the server's broker gave the event.
//
// # Handlers
//
// [On] registers a typed handler for one event name; [Source.OnMessage]
// takes the untyped events that have no event field. [Source.OnOpen],
// [Source.OnError], [Source.OnReset] and [Source.OnSchemaMismatch] report
// what happens to the connection. Every registration returns a function
// that removes the handler. [Events] is On for a range loop.
//
// A Source runs its handlers on one goroutine of its own, one at a time, in
// the order the events arrived: never inside a JavaScript callback, so a
// handler may block, call JavaScript, or await a promise. The JavaScript
// callbacks of the package do only what cannot wait (read a batch of
// events, queue it) and return at once. A panic in a handler is not
// recovered: as anywhere in Go, it ends the program with the handler's
// stack, rather than leaving the page running in a state nobody checked.
//
// Handlers may be registered at any time. [Open] connects at once, and a
// page may await something (a snapshot, a module) before it registers its
// handlers, without losing what came in between:
//
//   - the state of the connection reaches handlers registered later: an
//     OnOpen handler is called once if the connection is open, an OnError
//     handler gets the last error if no connection has opened since, an
//     OnSchemaMismatch handler is called if the last hello mismatched (a
//     stale bundle is reported however late the page listens), and a reset
//     goes to the first OnReset handler if none was registered when it came;
//   - events of the types of the [WithRegistry] registry wait, in order,
//     for the first handlers of their type, up to the source's [Limits];
//     past them, the held events are dropped, an [*UnhandledError] says so,
//     and from then on events that no handler wants are dropped as they
//     arrive. EventSource has no listener for every type, so a source holds
//     only the types it knows at Open; without a registry, events that no
//     handler wants are dropped, as an EventSource drops events that have
//     no listener.
//
// A handler registered from another handler starts with the next event.
//
// # Loops
//
// [Events] is On for a range loop, whose body runs on the loop's
// goroutine:
//
//	for p, m := range wasm.Events(ctx, src, PriceTick) {
//		show(p, m.ID)
//	}
//
// The loop removes its handler when it ends (break, return, ctx done, the
// source closed or failed for good). Its handler only queues the value, so
// a slow body holds up the other handlers only once it is a whole [Limits]
// behind; then the source slows the stream down (see "Memory") rather than
// drop anything.
//
// # Errors
//
// Errors reach the [Source.OnError] handlers with a type that says what
// happened:
//
//   - [*ConnError]: the connection was lost and the source reconnects
//     (Closed false, ReadyState [StateConnecting]), or it failed and the
//     source has given up (Closed true, ReadyState [StateClosed]);
//   - [*schema.DecodeError]: an event's data did not decode into its Go
//     type. The event is skipped and the stream goes on;
//   - [*UnhandledError]: events held for handlers not registered yet were
//     more than the [Limits] allow, and were dropped.
//
// A [ConnError] of the fetch transport carries the HTTP status of a refused
// response and the reason the server gave in its text/plain body (Body).
// Its Err is [ErrSilent] when the source gave up a silent connection and
// [ErrQueueFull] when the native transport closed one because the handlers
// fell behind (see "When the network misbehaves").
//
// [Open] itself fails only for a bad option, with an error that names it,
// or a URL the browser cannot parse.
//
// # Resuming, resets and stale bundles
//
// After a lost connection the browser reconnects with the last event ID it
// saw, and an ssekit server replays what the page missed: no gap, no
// duplicate. When it cannot (the ID is older than its history, or from
// before a restart) it sends a reset event instead, which
// [Source.OnReset] reports: reload the state the events update.
//
// A page that loads a snapshot of the state with its cursor (the last
// event ID it reflects) streams from there with [WithLastEventID]: the
// first request resumes from the cursor, so nothing between the snapshot
// and the stream is missed or seen twice. [Source.LastEventID] is where
// the handlers have got; a page that closes a source and opens another
// from it resumes exactly.
//
// Every connection starts with a hello event carrying the fingerprint of
// the server's event registry. Given [WithRegistry], a source compares it
// with the page's own and calls the [Source.OnSchemaMismatch] handlers when
// they differ, typically because the page is a stale bundle from before a
// deploy and should reload.
//
// # The fetch transport
//
// [WithFetch] reads the stream with fetch() and decodes it with the
// [sse.Decoder] the server's tests use, for what EventSource cannot do:
// another method, a request body, headers such as Authorization:
//
//	src, err := wasm.Open("/events", wasm.WithFetch(wasm.Request{
//		Method: "POST",
//		Header: map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"},
//		Body:   []byte(`{"topics":["prices"]}`),
//	}))
//
// A token expires; a stream lasts. [WithFetchFunc] computes the request
// before every attempt instead, and again after a 401:
//
//	src, err := wasm.Open("/events", wasm.WithFetchFunc(func(ctx context.Context) (wasm.Request, error) {
//		tok, err := tokens.Get(ctx, wasm.Refusal(ctx) != nil) // renew after a 401
//		if err != nil {
//			return wasm.Request{}, err // reported; tried again after the backoff
//		}
//		return wasm.Request{Header: map[string]string{"Authorization": "Bearer " + tok}}, nil
//	}))
//
// It keeps the EventSource rules of WHATWG HTML §9.2.2
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface)
// and §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model):
// it sends Accept: text/event-stream, cache mode no-store and, on
// reconnection, Last-Event-ID; it accepts only a 200 whose content type is
// text/event-stream (the MIME essence, case-insensitive, parameters
// ignored); a 204 stops it for good; any other refusal fails it; a clean end
// of the body reconnects after the reconnection time. Beyond EventSource, it
// reports the HTTP status in the [ConnError], retries 429 and 5xx responses
// honouring Retry-After (see [WithRetryStatus]), and waits longer after each
// failure in a row, with jitter, up to a cap (see [Backoff] and
// [WithBackoff]); the first retry still waits just the reconnection time the
// server set with retry.
//
// fetch() reports a CORS refusal as it reports a network error, so the
// fetch transport retries it with backoff where EventSource would give up.
//
// Unlike some fetch-based clients it keeps reading while the page is
// hidden, as EventSource does; a browser may still slow the timers of a
// hidden page, and with them the waits before reconnecting. A server that
// takes the POST needs server.WithMethods, and one on another origin must
// allow the Last-Event-ID header in CORS: a fetch() request that sets it can
// need a preflight that allows it (whatwg/fetch#568 tracks safelisting it).
//
// # When the network misbehaves
//
// A connection can die without a word: a laptop that slept, a NAT that
// forgot the path, a proxy that dropped it, a tab the browser froze. A
// source notices and recovers on both transports:
//
//   - Watchdog. An ssekit server announces its heartbeat interval in the
//     hello and sends a heartbeat whenever the stream has been silent that
//     long: a comment for fetch, and, for the native transport, which asks
//     with the query parameter heartbeat=event, the event ssekit.heartbeat
//     (EventSource never shows comments to JavaScript). A source that has
//     received nothing, not even a heartbeat, for three intervals closes
//     the connection and reconnects from its last event ID at once,
//     reporting a [ConnError] whose Err is [ErrSilent]. The same holds for
//     an attempt that gets no response. Without an interval in the hello
//     there is no watchdog. The server sends heartbeats only while the
//     stream is silent, and EventSource shows a page only the event types
//     it listens to, so the native transport listens to every type the
//     hello lists (the server's registry), handled or not.
//   - Wake-ups. When the browser comes back online, a frozen page resumes,
//     or a page hidden for longer than a heartbeat interval becomes visible
//     again, a source that is waiting to reconnect tries at once, and one
//     whose connection delivered nothing while the page was offline, frozen
//     or hidden replaces it at once (from its last event ID), rather than
//     wait for the watchdog or a backoff. The fetch transport also forgets
//     its failures in a row when the network comes back.
//   - Backoff. Otherwise the fetch transport waits between failed attempts
//     as [Backoff] says; the native EventSource reconnects by the
//     browser's rules.
//   - Credentials. With [WithFetchFunc] the application computes the
//     request before every attempt, so a reconnection sends a fresh token;
//     after a 401 the source calls it once more, with [Refusal] telling it
//     why, and a second 401 in a row, or a 403, fails the stream: it never
//     goes on without the credentials the server asked for.
//
// # One connection for all tabs
//
// A browser opens at most six HTTP/1.1 connections to an origin, across
// all its tabs: the seventh tab of an application that streams waits for
// a connection and shows nothing, and every tab costs the server a stream.
// With [WithShared], the sources of one name that read one URL, in all
// the tabs of the page's origin, share one connection:
//
//	src, err := wasm.Open("/events?topic=prices", wasm.WithShared("prices"))
//
// Each source behaves as if it had the connection itself: its handlers get
// every event, in order, with the ID and [Meta] it came with; its
// ReadyState, LastEventID and open, error, reset and schema-mismatch
// callbacks follow the shared stream (each source checks the hello's
// fingerprint against its own registry).
//
//   - Election. Every source asks for an exclusive Web Lock named after
//     its name and URL. The tab that holds it reads the stream with its own
//     transport; the others wait in the lock's queue.
//   - Relay. The holder posts what its connection delivers on a
//     BroadcastChannel of the same name, in batches: everything that
//     arrived before its event loop was free again goes in one message, in
//     a compact binary form (an event of a sequence costs its type, its
//     data and three or four bytes), so a burst costs a few messages, and a
//     single event goes out at once.
//   - Joining. A source that opens while others stream gets the group's
//     state at once (open, the last error, the hello) and what comes after
//     it joined. With [WithLastEventID], it gets what came after its
//     cursor: from the holder, which keeps the last 1024 events (1 MiB, and
//     no more than its [Limits]), or, for an older cursor, from a
//     connection of its own, which it closes once it has caught up with
//     the group. A source whose handlers fall a whole [Limits] behind
//     catches up the same way.
//   - Takeover. When the holding tab closes, the browser releases its lock
//     and the next source takes over: it connects from the last event ID
//     it handed its handlers, and skips, by ssekit's IDs, what the new
//     connection replays that others had already; no source misses or
//     repeats an event, and none sees a reset. A frozen tab keeps its
//     locks, so a holder hands over when its page is about to be frozen
//     (the freeze event), and a source that has heard nothing from the
//     holder (it says it is alive every second) for three of the server's
//     heartbeat intervals, and at least three seconds, takes the lock from
//     it (the lock's steal): a tab that hangs, or froze without a word. A
//     holder that finds its event loop stood still that long steps down
//     without relaying what it read meanwhile.
//
// The limits:
//
//   - The Web Locks API exists only in secure contexts: HTTPS, and
//     http://localhost or 127.0.0.1 while developing. Elsewhere, and in
//     browsers without BroadcastChannel, each source reads the stream on a
//     connection of its own, as without the option.
//   - The holder reads the stream with its own options (transport,
//     request, credentials): give the sources of one name the same ones, or
//     different names. Sources of another name or URL never mix, nor do
//     those of other browser profiles or private windows, nor pages built
//     with a version of this package that relays differently.
//   - Ordering what the connections deliver across a takeover, and
//     catching up through the holder, need ssekit's event IDs
//     ("<epoch>-<seq>"). Other servers' IDs are compared for equality
//     only: a source that cannot tell where it is then reads the stream
//     on a connection of its own from its last event ID, until that
//     connection meets the group's.
//   - A holder that hangs is replaced only after the silence: with the
//     server's default heartbeat of 15 s, 45 s. A hidden tab whose timers
//     the browser slows notices later; a visible one on time.
//   - Every tab of the group receives every batch, whether or not its
//     handlers want its events, and the holder's page does the reading for
//     all. Sharing adds about 45 KB of brotli to a bundle that uses it, and
//     nothing to one that does not.
//
// # Memory
//
// Events wait for the handlers in a queue bounded by [Limits] (see
// [WithLimits]; by default [DefaultLimits]). When the handlers fall that
// far behind, nothing is dropped: the fetch transport stops reading the
// response until there is room, which the server feels as backpressure
// (an ssekit server closes the stream of a client too slow for its own
// queue, and the source resumes from its last event ID); the native
// transport, which cannot stop EventSource reading, closes it, reports a
// [ConnError] whose Err is [ErrQueueFull], and once the handlers have
// worked the queue down to half opens a new one from the last event it
// queued. The same bounds apply to the events held for handlers not
// registered yet, and to each loop of [Events].
//
// # Cost
//
// Events cross from JavaScript into Go in batches, not one callback each.
// The native transport's listener is a JavaScript array: a burst of events
// only pushes each MessageEvent onto it, and one call into Go, from a
// MessageChannel message rather than a timer (which a hidden tab would slow
// to one a second), reads the whole batch as one string. An event that
// comes alone is handled at once, in its own dispatch. The fetch transport
// hands over the events of each chunk it reads at once. No JavaScript is
// evaluated, so a page whose Content-Security-Policy forbids eval works.
//
// What is left is mostly decoding: with the default codec, encoding/json's
// reflection costs a page about as much as everything else per event.
// [schema.FlatJSON] reads and writes the same JSON for a flat struct
// several times faster; choose it for the events that come often.
//
// # Closing
//
// [Source.Close] closes the EventSource or aborts the fetch, cancels a
// pending reconnection and releases the JavaScript functions the source
// made. After it returns no handler starts. It never blocks, and a handler
// may call it.
//
// # Build
//
// Every file of the package is built only for GOOS=js GOARCH=wasm, and the
// package does not import net/http, which would add megabytes to the
// bundle: fetch is called directly. Its tests run in headless Chromium:
//
//	GOOS=js GOARCH=wasm go test -exec=$PWD/bin/go_js_wasm_exec ./wasm/
package wasm
