// Package client is the part of ssekit's browser client that needs no
// browser: the rules the wasm package applies, kept free of build tags so
// that plain go test checks them.
//
// The wasm package wraps the browser's EventSource, or reads the stream with
// fetch(), and leaves every decision to this package:
//
//   - [Decide] says what to do with a response: accept it, stop for good
//     (204), fail, or retry after a wait;
//   - [IsEventStream] and [MediaType] compare the Content-Type's MIME
//     essence as WHATWG MIME Sniffing parses it;
//   - [Reconnect] and [Backoff] say how long to wait before reconnecting:
//     the reconnection time after a clean end of the stream, exponential
//     backoff with jitter after failures in a row, never less than the
//     server's retry field or Retry-After;
//   - [Dispatcher] hands opens, errors and events to the application's
//     handlers in order on one goroutine, decodes typed events ([On]) and
//     handles the reserved ssekit.hello and ssekit.reset events; it bounds
//     its queue by [Limits], and gives handlers registered late the state
//     of the connection and the events held for them;
//   - [Events] is On as an iterator for a range loop, whose slow body
//     holds up the other handlers only once it is a whole Limits behind;
//   - [Watchdog] notices a connection that delivers nothing for three
//     heartbeat intervals ([HelloHeartbeat]), and decides, with
//     [Watchdog.Woken], whether the page coming back online, from a freeze
//     or to the foreground calls for a new connection;
//   - [Refresh] decides when a refused request is worth computing anew
//     (once, after a 401), and [ReasonText] reads the server's reason;
//   - [NativeURL] puts a native source's position and its request for
//     heartbeat events in the URL, which is all a new EventSource can send;
//   - [Group] is the logic of a source whose connection the tabs of an
//     origin share (the wasm package's WithShared): which tab holds the
//     connection, what it relays and in what batches, how a tab that joins
//     or falls behind catches up, and when another takes over, ordering
//     what the connections deliver by ssekit's event IDs; a [Dispatcher]
//     with a tap hands it what a connection posts ([Notice]);
//   - [ReadyState] is EventSource.readyState.
//
// Applications use the wasm package, which re-exports what they need
// ([Meta], [ReadyState], [Backoff], [Limits], [UnhandledError]); this
// package is for the wasm package and for tests.
//
// Comments in this package cite the rules they follow. A §9.2.x is a
// subsection of the "Server-sent events" section of the WHATWG HTML
// standard, https://html.spec.whatwg.org/multipage/server-sent-events.html,
// such as §9.2.2 The EventSource interface or §9.2.3 Processing model; "WPT"
// followed by a name is a web-platform-tests test in its eventsource/
// directory.
package client
