package server

import (
	"context"
	"errors"
)

// Broker carries framed events from publishers to subscribers, assigns their
// sequence numbers and keeps a window of recent events for replay. The
// server's handler reads from it; [NewMemoryBroker] is the embedded default,
// and server/natsbroker spreads one broker over several server instances.
//
// A broker stores, orders, retains and replays; the [Server] decides the
// rest from what the broker reports. For one stream the server subscribes
// first, which fixes the stream's position ([Subscription.Position]); then,
// for a client that resumes, it reads what the client missed with [Broker.Replay]
// while live events wait in the subscription's queue, and goes live with
// no gap and no duplicate. A Last-Event-ID that is malformed, from another
// epoch, ahead of the broker or older than what the broker retains gets the
// client a reset event instead.
//
// The contract, which package server/brokertest checks for any
// implementation:
//
//   - All methods are safe for concurrent use.
//   - Epoch returns the broker's epoch, fixed for its lifetime: new
//     whenever its history starts afresh (a process restart for a memory
//     broker, a recreated stream for JetStream). See [EventID].
//   - Publish assigns the message the next sequence number, greater than
//     any it assigned before on any topic, and returns it. The frame
//     subscribers receive is the message's, made once: [Message.Frame] in
//     place, or [NewFrame] from the body a broker stored elsewhere. It
//     never waits for a subscriber.
//   - Subscribe registers a [Subscription] for live events on a set of
//     topics: it receives, in sequence order, every event on them with a
//     sequence number above its Position, and none at or below it. A
//     subscription whose queue overflows its [QueueLimits] ends with
//     [ErrSlowConsumer]; its queued frames are dropped.
//   - Replay returns a [Cursor] over the retained events on a set of topics
//     with a sequence number above after, in sequence order, which also
//     yields events stored after the cursor was made. When an event on one
//     of the topics after that point is no longer retained, Replay, or the
//     cursor before it would have yielded that event, fails with
//     [ErrExpired]: a cursor never skips an event. Replay fails with
//     [ErrUnknownPosition] when after is beyond every sequence number the
//     broker assigned. Any event a subscription receives can be read from
//     a cursor made after the subscription received it, while retained.
//   - After Close, Publish, Subscribe and Replay return [ErrBrokerClosed],
//     and every open subscription ends with ErrBrokerClosed once its queued
//     frames are fetched. Close is idempotent.
type Broker interface {
	// Epoch returns the broker's epoch.
	Epoch() string
	// Publish adds the message to topic and returns its sequence number.
	// The broker owns m after the call.
	Publish(ctx context.Context, topic string, m *Message) (seq uint64, err error)
	// Subscribe starts a subscription to live events on req.Topics.
	Subscribe(ctx context.Context, req SubscribeRequest) (Subscription, error)
	// Replay returns a cursor over the retained events on topics after the
	// sequence number after.
	Replay(ctx context.Context, topics []string, after uint64) (Cursor, error)
	// Close stops the broker.
	Close() error
}

// PublishCounter is implemented by brokers that count the events published
// through them, as [MemoryBroker] and server/natsbroker do; package
// server/metrics exports the count.
type PublishCounter interface {
	// Published returns the number of events published through this
	// broker (this instance, for a broker shared by several).
	Published() uint64
}

// SubscribeRequest describes a subscription.
type SubscribeRequest struct {
	// Topics are the topics to receive; at least one, each once.
	Topics []string
	// Limits bound the subscription's queue; zero fields take the defaults.
	Limits QueueLimits
	// Queue, when not nil, is the queue the subscription pushes to, made
	// by the server with Limits: part of the stream's own state, so that
	// a delivery touches less memory. A broker that embeds
	// [QueueSubscription] gets it through [NewQueueSubscription]; one that
	// feeds a subscription of its own may ignore it.
	Queue *Queue
}

// Frame is one event as subscribers receive it: its sequence number and its
// bytes on the wire, id field included. The bytes are shared by every
// subscriber and must not be modified.
type Frame struct {
	Seq   uint64
	Bytes []byte
}

// Subscription is a stream of live frames from a [Broker]. Fetch and Ready
// may be used by one goroutine while the broker pushes from others.
type Subscription interface {
	// Position returns the sequence number of the last event published
	// before the subscription started: the subscription receives exactly
	// the events after it. It does not change.
	Position() uint64
	// Ready returns a channel that receives a value when frames are waiting
	// or the subscription has ended. The channel never closes; after a
	// value, Fetch may still find nothing.
	Ready() <-chan struct{}
	// Fetch appends every waiting frame to dst, oldest first, and returns
	// it; it never blocks. Once the subscription has ended and its frames
	// are fetched, err says why: ErrSlowConsumer, ErrBrokerClosed, or a
	// broker's own error.
	Fetch(dst []Frame) (frames []Frame, err error)
	// Close ends the subscription and releases what it holds. It is
	// idempotent.
	Close()
}

// Cursor reads a broker's retained events in sequence order, a page at a
// time (see [Broker.Replay]). It is used by one goroutine.
type Cursor interface {
	// Next appends the next retained frames to dst, oldest first, stopping
	// once their bytes reach maxBytes (it always appends at least one frame
	// when any is retained), and returns dst. It may block (a broker on
	// the network reads from it), and it returns no frames when it has
	// caught up with every event stored so far. It fails with [ErrExpired]
	// when events that lie ahead of the cursor were trimmed before it read
	// them.
	Next(ctx context.Context, dst []Frame, maxBytes int) ([]Frame, error)
	// Close releases the cursor. It is idempotent.
	Close()
}

var (
	// ErrBrokerClosed is returned by a Broker after Close.
	ErrBrokerClosed = errors.New("server: broker closed")
	// ErrSlowConsumer ends a subscription whose queue overflowed.
	ErrSlowConsumer = errors.New("server: subscriber too slow, queue overflowed")
	// ErrExpired is returned by [Broker.Replay] and [Cursor.Next] when
	// events after the requested position are no longer retained.
	ErrExpired = errors.New("server: events after the position are no longer retained")
	// ErrUnknownPosition is returned by [Broker.Replay] for a position
	// beyond every sequence number the broker assigned.
	ErrUnknownPosition = errors.New("server: position ahead of the broker")
)
