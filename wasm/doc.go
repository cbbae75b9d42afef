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
// callbacks of the package do only what cannot wait (read the event's
// strings, queue them) and return at once. A panic in a handler is not
// recovered: as anywhere in Go, it ends the program with the handler's
// stack, rather than leaving the page running in a state nobody checked.
//
// Register handlers right after [Open], before the goroutine that called it
// blocks: like an EventSource, a source drops events that arrive while no
// handler wants them.
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
//     type. The event is skipped and the stream goes on.
//
// [Open] itself fails only for a bad option or a URL the browser cannot
// parse.
//
// # Resuming, resets and stale bundles
//
// After a lost connection the browser reconnects with the last event ID it
// saw, and an ssekit server replays what the page missed: no gap, no
// duplicate. When it cannot (the ID is older than its history, or from
// before a restart) it sends a reset event instead, which
// [Source.OnReset] reports: reload the state the events update.
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
