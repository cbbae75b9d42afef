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
//	event: ssekit.hello
//	retry: 2000
//	data: {"fingerprint":""}
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
// event definitions.
//
// The broker gives every event an [EventID]: an epoch, new whenever its
// history starts afresh, and a sequence shared by all topics, so that one
// ID resumes a connection to several. A browser that reconnects sends the
// last ID it saw as Last-Event-ID; the server replays every retained event
// after it on the connection's topics, in order, then goes live, with no
// gap and no duplicate. (A page that opens a new EventSource, which cannot
// set headers, passes the ID as the lastEventId query parameter.) When it
// cannot, because the ID is from another
// epoch, malformed, longer than [WithMaxLastEventIDLength], ahead of the
// broker or older than what is retained, the stream starts with the
// ssekit.reset event (a schema.Reset with the reason) instead, and the
// client knows to resync its state.
//
// # Slow clients
//
// Each connection has a bounded queue ([WithQueueLimits]) and one writer.
// Whatever queued while a write was in flight goes out together, with one
// flush. Publishers never wait for a client: a connection whose
// queue overflows, or whose client does not take a write within
// [WithWriteTimeout], is closed and counted in [Stats].Evicted. Its client
// reconnects with its Last-Event-ID and loses nothing that is still
// retained. Heartbeat comments ([WithHeartbeat]) keep idle streams open
// through proxies.
//
// Streams set their own deadlines, so http.Server's ReadTimeout and
// WriteTimeout, which are right for ordinary requests, do not cut them.
//
// # Limits and shutdown
//
// [WithMaxConnections] caps open streams in total (503) and per client IP
// (429); both refusals carry Retry-After ([WithRetryAfter]). [Server.Shutdown]
// ends every stream cleanly and refuses new ones with 503, so that the HTTP
// server's own shutdown can finish:
//
//	srv.Shutdown(ctx) // streams end; clients reconnect elsewhere
//	hs.Shutdown(ctx)  // then the http.Server
//
// [Server.DisconnectAll] ends the open streams and goes on serving.
//
// # Authorization and CORS
//
// [WithAuthorize] installs a hook that sees each request and its topics
// before it subscribes. An error that wraps [ErrUnauthenticated] refuses
// the request with 401, any other with 403, the error's text being the
// reason. [CORS] is middleware for pages of other origins, built on
// go-chi/cors: it allows Last-Event-ID in preflights, which a fetch()
// client that resumes always sends, and allows credentials only with an
// explicit list of origins.
//
// # Metrics
//
// [Server.Stats] is a snapshot of the server's counters: open streams,
// streams opened, events delivered and replayed, resets, evictions and
// refused requests. [Server.Collector] exports them to Prometheus under
// names that start with "ssekit_".
//
// # Brokers
//
// [MemoryBroker] serves one process; package
// [github.com/ssekit/ssekit/server/natsbroker] spreads one broker over
// several server instances. Another implementation of [Broker] can build
// on [Queue], and package [github.com/ssekit/ssekit/server/brokertest]
// checks that it keeps the contract the Server relies on.
package server
