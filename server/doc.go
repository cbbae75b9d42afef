// Package server streams an application's typed events to browsers as
// Server-Sent Events: a [Broker] carries published events to subscribers,
// and a [Server], an [http.Handler], streams the topics each request names.
//
// The shortest useful program keeps events in memory and serves them on
// /events:
//
//	broker := server.NewMemoryBroker()
//	http.Handle("/events", server.New(broker))
//	go http.ListenAndServe("localhost:8080", nil)
//
//	server.Publish(ctx, broker, "prices", PriceTick, Price{Symbol: "ACME", Cents: 12345})
//
// where PriceTick is a schema.Event[Price] named "price.tick" (see package
// [github.com/ssekit/ssekit/shared/schema]). A client of
// /events?topic=prices receives the reconnection time and the hello event,
// then the event with the ID the broker gave it:
//
//	id: cf454f613e5d-0
//	event: ssekit.hello
//	retry: 2000
//	data: {"fingerprint":"","heartbeat":15000}
//
//	id: cf454f613e5d-1
//	event: price.tick
//	data: {"symbol":"ACME","cents":12345}
//
// The value is encoded and framed once; every subscriber gets the same
// bytes.
//
// # Topics
//
// A request names its topics in the repeated "topic" query parameter,
// each checked by [ValidTopic]. [WithTopics] takes them from elsewhere (a
// path value, or a POST body with [WithMethods]), [WithAllowedTopics]
// restricts them to a fixed set and [WithMaxTopics] caps how many one
// connection may name. A request with no topic, a malformed, repeated or
// refused one gets 400 with the reason as plain text; a method other than
// GET gets 405.
//
// # Replay and resets
//
// Every stream starts with the reconnection time ([WithRetry]) and the
// ssekit.hello event, whose fingerprint of the event registry
// ([WithRegistry]) lets a client notice that it was built from other
// event definitions, and which announces the heartbeat interval in
// milliseconds.
//
// The broker gives every event an [EventID]: an epoch, new whenever its
// history starts afresh, and a sequence shared by all topics, so that one
// ID resumes a connection to several. A browser that reconnects sends the
// last ID it saw as Last-Event-ID; the server replays every retained event
// after it on the connection's topics, in order, a page at a time however
// large the gap, then goes live, with no gap and no duplicate. (A page
// that opens a new EventSource, which cannot set headers, passes the ID as
// the lastEventId query parameter.) When it cannot, because the ID is from
// another epoch, malformed, longer than [WithMaxLastEventIDLength], ahead
// of the broker or older than what is retained, the stream starts with the
// ssekit.reset event (a schema.Reset with the reason) instead, and the
// client knows to resync its state.
//
// The hello carries an id of its own: the position the client resumes
// from should the stream end before any event reaches it. Without a
// Last-Event-ID it is the broker's position when the stream subscribed;
// with a lastEventId query parameter, that ID. A client that sent the
// Last-Event-ID header has its ID, and a reset brings the new position
// itself, so then the hello has none.
//
// # Fan-out and slow clients
//
// Each stream has a bounded queue ([WithQueueLimits]). An event is pushed
// to every subscriber's queue (by the memory broker's partitions, one per
// core, so that a publish returns at once whatever the number of
// subscribers), and a stream that gets frames while its queue was empty
// is put on the Server's ready queue. A few writer goroutines, one per core
// to begin with, take streams from it and write each one what waits: an
// event to N streams costs N writes from a loop, as in a single-goroutine
// fan-out, spread over every core, rather than N goroutine wake-ups.
// Whatever queued while a stream was being written goes out together, with
// one flush.
//
// A stream leaves the writers for its own goroutine (the request's) while
// it is slow: when a write took longer than a scheduler's time slice, and
// longer than a backlog written at once would take, its own goroutine waits
// out the next ones, so that a slow client holds up no other. It starts
// there too, for the hello and any replay, and goes back to the writers
// once its writes are quick again. Should every writer be stuck in a write
// at once, another one starts.
//
// The same path serves every kind of connection, HTTP/1.1 with or without
// TLS and HTTP/2: the ResponseWriter is written as net/http made it, so
// middleware that wraps it, logs the request or counts its bytes sees the
// stream as it sees any response. The Server does not take connections
// over (http.Hijacker) to write sockets itself. That would serve cleartext
// HTTP/1.1 only, the hop behind a TLS-terminating proxy, and hide the
// stream from middleware; and since the writers already write each stream
// what waits with one write and one flush, what it would save is
// net/http's buffering and chunking, not a wake-up.
//
// Publishers never wait for a client: a stream whose queue overflows, or
// whose client does not take a write within [WithWriteTimeout], is closed
// and counted in [Stats].Evicted. Its client reconnects with its
// Last-Event-ID and loses nothing that is still retained. The write timeout
// is kept by a watchdog that ends a write in flight for too long (a
// deadline in the past), rather than by a deadline set and cleared around
// every write: Go's HTTP/2 server resets a stream whose deadline passes,
// even an idle one, and there each deadline is a message to the
// connection's goroutine.
//
// A stream that has been silent for the heartbeat interval ([WithHeartbeat])
// gets a heartbeat, so that no silence is longer than the interval: a proxy
// whose read timeout is above it keeps the stream open. The watchdog looks
// for silent streams too, at an eighth of the interval: no stream has a
// timer of its own. The heartbeat is a
// comment; a request with the query parameter heartbeat=event gets the
// reserved event ssekit.heartbeat instead (schema.HeartbeatEvent, empty
// data, no id), which the browser's EventSource, hiding comments, shows to
// a page that watches for a dead connection; such a stream gets one every
// interval, whatever else it was written, since the page may not listen to
// every event type.
//
// Streams set their own deadlines, so http.Server's ReadTimeout and
// WriteTimeout, which are right for ordinary requests, do not cut them.
//
// # Limits and shutdown
//
// [WithMaxConnections] caps open streams in total (503) and per client
// (429); both refusals carry Retry-After ([WithRetryAfter]). A client is
// the IP address of the connection's peer unless [WithClient] says
// otherwise: behind reverse proxies every user has a proxy's address, and
// [ForwardedClient] names the proxies whose X-Forwarded-For to trust. The
// default per-client cap, a tenth of the total, lets a thousand users
// share a proxy and no client take the whole budget. [Server.Shutdown]
// ends every stream cleanly and refuses new ones with 503, so that the HTTP
// server's own shutdown can finish; [Server.ConfigureHTTP] makes
// http.Server.Shutdown call it. [Server.DisconnectAll] ends the open
// streams and goes on serving.
//
// # Deploying
//
// Give the http.Server to [Server.ConfigureHTTP]: it bounds request headers
// (which a stream holds for its whole life), sets HTTP/2's
// WriteByteTimeout (without it an HTTP/2 client that stops reading its
// socket is never evicted, and Shutdown cannot finish), and makes
// http.Server.Shutdown end the streams first:
//
//	hs := &http.Server{Addr: addr, Handler: r}
//	events.ConfigureHTTP(hs)
//	hs.ListenAndServeTLS(cert, key)
//
// Middleware in front of a Server must pass on a ResponseWriter that can
// flush and that unwraps, through an Unwrap method, to the one net/http
// made: a stream through a ResponseWriter that cannot flush is refused with
// 500, and one without Unwrap loses its write deadlines (the server logs a
// warning, once). chi's middleware.Timeout ends every request after its
// timeout: mount streams outside it (see the ConfigureHTTP example). Behind
// a reverse proxy, turn response buffering off (the server sends
// X-Accel-Buffering: no, which nginx obeys) and keep the proxy's read
// timeout above the heartbeat interval.
//
// # Authorization and CORS
//
// [WithAuthorize] installs a hook that sees each request and its topics
// before it subscribes. It refuses with an [*AuthError], which says the
// status, the reason shown to the client and the response's headers;
// [Unauthenticated] makes a 401 with its WWW-Authenticate challenge, and
// [Forbidden] a 403. Package [github.com/ssekit/ssekit/server/cors] is
// middleware for pages of other origins: it allows Last-Event-ID in
// preflights, which a fetch() client that resumes always sends, and
// allows credentials only with an explicit list of origins.
//
// # Metrics
//
// [Server.Stats] is a snapshot of the server's counters: open streams,
// streams opened, events delivered and replayed, resets, evictions and
// refused requests. Package [github.com/ssekit/ssekit/server/metrics]
// exports them to Prometheus, labelled per server, with the publishes of
// every broker that is a [PublishCounter].
//
// # Options
//
// Constructors that cannot fail at run time panic, naming the option, when
// an option is invalid: [New], [NewMemoryBroker], [ForwardedClient], as
// chi's routers and schema.Define do; a bad option is a programmer's
// mistake, found at start-up. Constructors that can fail at run time return
// errors, for their options too: natsbroker.New, which talks to NATS, and
// wasm.Open in the page.
//
// # Brokers
//
// [MemoryBroker] serves one process; package
// [github.com/ssekit/ssekit/server/natsbroker] spreads one broker over
// several server instances. A broker on another engine (Redis Streams,
// Postgres, Kafka) implements [Broker]: it stores, orders, retains and
// replays events, and reports the facts the server decides from. The
// server does the rest.
//
// What a broker implements:
//
//   - Epoch: a string of lower-case letters and digits ([NewEpoch] makes
//     one), new whenever its history starts afresh, so that IDs from before
//     get a reset.
//   - Publish: give the [Message] the next sequence number, greater than
//     any before on any topic, store it, and push its frame to the queues
//     of the topic's live subscriptions. In memory, [Message.Frame] frames
//     it in place; an engine that stores bytes stores [Message.Body] and
//     frames what it reads back with [NewFrame], once per event, for every
//     subscriber.
//   - Subscribe: register a subscription to live events at the current
//     sequence number, its Position. Embed [QueueSubscription], whose
//     [Queue] is bounded and never blocks the publisher: a subscriber that
//     falls behind is ended, not waited for.
//   - Replay: a [Cursor] over the stored events after a position, read a
//     page at a time, in sequence order, also yielding events stored after
//     it was made. [ErrExpired] when events after the position are gone
//     (never skip one), [ErrUnknownPosition] for a position ahead of every
//     sequence number.
//   - Close.
//
// What the server does for it: it frames events (id, event and data
// fields, the hello, the reset, heartbeats); parses Last-Event-IDs and
// decides resets from the broker's epoch and its Replay errors; writes the
// hello's position from [Subscription.Position]; reads a replay of any size
// page by page while live events wait, and goes live with no gap and no
// duplicate by skipping live frames the replay gave; evicts slow clients,
// coalesces writes, sends heartbeats and handles shutdown.
//
// Package [github.com/ssekit/ssekit/server/brokertest] checks the contract
// for an implementation; example_broker_test.go in this package is a
// complete broker in one screen, tested by it.
package server
