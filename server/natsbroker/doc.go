// Package natsbroker is a [server.Broker] on NATS JetStream, so that
// several server instances share one set of topics, one sequence of event
// IDs and one replay history.
//
// Give it a JetStream context and use it where the memory broker would go:
//
//	nc, err := nats.Connect(nats.DefaultURL)
//	...
//	js, err := jetstream.New(nc)
//	...
//	broker, err := natsbroker.New(js)
//	...
//	defer broker.Close()
//	http.Handle("/events", server.New(broker))
//
//	id, err := server.Publish(ctx, broker, "prices", PriceTick, Price{Symbol: "ACME", Cents: 12345})
//
// Every subscriber of "prices", on whichever instance it is connected to,
// receives the frame
//
//	id: 1f3a9c0e7b22-1
//	event: price.tick
//	data: {"symbol":"ACME","cents":12345}
//
// and a browser that reconnects to another instance with that ID as its
// Last-Event-ID resumes exactly after it.
//
// # Stream and subjects
//
// All topics live in one stream, [DefaultStream] unless [WithStream] names
// another, which New creates when it does not exist (and otherwise uses as
// it is). A topic is stored under one subject, the prefix
// ([DefaultSubjectPrefix], see [WithSubjectPrefix]) and the topic as a
// single subject token: ASCII letters, digits, '-' and '_' are kept and
// every other byte is percent-encoded ("a.b" becomes "ssekit.a%2Eb"), so
// '.', '*', '>' and spaces in topics are safe and plain names stay
// readable. The stream stores the frame as [server.Publish] built it,
// without its id line.
//
// # Event IDs and epochs
//
// An ID is the stream's epoch and the message's stream sequence,
// "<epoch>-<seq>" (see [server.EventID]). New stores a fresh epoch in the
// stream's metadata under [MetadataEpoch] when it creates the stream, so a
// deleted and recreated stream has a new epoch and IDs from the old one get
// a reset with reason schema.ResetEpoch. Do not delete the stream under
// running instances: they keep the old epoch until they are restarted.
//
// # Delivery
//
// Each instance reads the stream through one ordered consumer, created by
// New to start after the stream's last message, and hands every event to
// its own subscribers of the event's subject: the "id:" line is added once
// per instance and the same bytes are queued for every local subscriber. A
// browser never has a consumer of its own.
//
// # Replay and resets
//
// A subscription registers with the instance's fan-out at the instance's
// position. The server then reads what a resuming client missed through
// [Broker.Replay]: a short-lived ordered consumer filtered to the topics,
// read a batch at a time, which also yields what is stored while it reads.
// Events published elsewhere that the instance has not delivered yet come
// from the stream, or live right after; the server skips what it has
// already written, so there is no gap and no duplicate.
//
// JetStream skips messages that were removed without a word, so the broker
// checks, after reading each batch, that none were removed on the
// topics after the batch's start. Looking up the message of the ID itself is not
// enough: the limit per subject trims each topic on its own. The check
// relies on JetStream removing each subject's oldest messages first:
//
//   - A topic trimmed by count is full: it holds MaxMsgsPerSubject
//     messages. It lost something after the ID only if it is full and its
//     first stored message comes after the ID (a stream info request with a
//     subject filter, and a message lookup when the subject is full).
//   - Age and the stream's overall limits trim a prefix of the whole
//     stream: when the stream's first sequence is past the ID's next one,
//     JetStream does not say on which subjects the removed messages were,
//     and the ID is treated as expired.
//
// The check can reset a client that lost nothing (after the age limit,
// when the ID is older than everything in the stream), never the other way
// round.
//
// Replay fails with server.ErrUnknownPosition for a position past the
// stream's last sequence, and with server.ErrExpired, from Replay or as the
// cursor reads, when events after the position were trimmed or more than
// the window was published on one topic since; the server then sends a
// reset, as it does for the memory broker.
//
// # Retention
//
// [WithMaxAge] and [WithMaxMsgsPerSubject] set the window a client can
// resume within: at most that many events per topic since its ID, none
// older than that age. More events on one topic since the ID is a reset,
// as with the memory broker. The stream keeps [Margin] more messages per
// subject than the window, which makes the check above exact at the
// window's edge and lets an instance fall behind a burst without losing
// events.
//
// # De-duplication
//
// [Broker.PublishKey] sets the Nats-Msg-Id header from the topic and a key
// of the publisher's: within the stream's de-duplication window (two
// minutes, or MaxAge when shorter) a second publish with the same topic and
// key stores nothing and returns the first event's ID. A publisher that
// retries after an error should use it.
//
// # Failures
//
// Publish returns an error unless the stream acknowledged the event. When
// the connection is down it fails at once rather than letting the client
// library buffer the message, so an error means nothing was published,
// with one exception: a request that times out may still have reached the
// stream. Retry such errors with [Broker.PublishKey].
//
// When the connection is lost, every subscription of the instance ends
// with [ErrDisconnected], so that browsers reconnect, to an instance that
// can serve them, and resume from their last ID. Subscribe fails while the
// connection is down. After the client library reconnects, the instance's
// consumer carries on from where it stopped; if events were trimmed from
// the stream before the instance delivered them, its subscriptions end
// with [ErrGap] and their clients resume (or get a reset) the same way.
//
// # Closing
//
// [Broker.Close] waits up to five seconds for the events the instance
// published to reach its own subscribers, stops the instance's consumer
// and ends every subscription with server.ErrBrokerClosed. It does not
// close the NATS connection, which belongs to the caller.
package natsbroker
