package server

import (
	"context"
	"errors"
)

// Broker carries framed events from publishers to subscribers, assigns their
// IDs and keeps a window of recent events for replay. The server's handler
// reads from it; [NewMemoryBroker] is the embedded default, and
// server/natsbroker spreads one broker over several server instances.
//
// The contract, which package server/brokertest checks for any
// implementation:
//
//   - All methods are safe for concurrent use.
//   - Publish assigns the event an ID of the form "<epoch>-<seq>" (see
//     [EventID]): seq grows with every publish, across all topics, and
//     epoch changes whenever the broker's history starts afresh. It puts the
//     ID in front of the frame as an "id" field and returns it. Publish never
//     waits for a subscriber.
//   - Subscribe starts a [Subscription] to a set of topics. With an empty
//     LastEventID it delivers what is published after it returns. With the
//     ID of an event the broker still retains, it first delivers every
//     retained event on those topics after that ID, in ID order, then goes
//     live with no gap and no duplicate. When the position cannot be resumed
//     (the ID is malformed, from another epoch, ahead of the broker, or
//     older than what is retained for any of the topics) Subscribe still
//     succeeds: the subscription's first frame is a reset event (see
//     [AppendResetFrame]) whose ID is the position live delivery starts
//     from, and [Subscription.Reset] gives the reason.
//   - Frames reach a subscription in ID order. A subscription whose queue
//     overflows its [QueueLimits] ends with [ErrSlowConsumer]: its queued
//     frames are dropped, and the client, resuming from the last ID it got,
//     loses nothing that is still retained.
//   - After Close, Publish and Subscribe return [ErrBrokerClosed], and every
//     open subscription ends with ErrBrokerClosed once its queued frames are
//     fetched. Close is idempotent.
type Broker interface {
	// Publish adds frame to topic. The frame is one event as
	// sse.AppendEvent writes it, without an id field. The broker owns
	// frame after the call.
	Publish(ctx context.Context, topic string, frame []byte) (id string, err error)
	// Subscribe starts a subscription as the contract above says.
	Subscribe(ctx context.Context, req SubscribeRequest) (Subscription, error)
	// Close stops the broker.
	Close() error
}

// SubscribeRequest describes a subscription.
type SubscribeRequest struct {
	// Topics are the topics to receive; at least one.
	Topics []string
	// LastEventID is the Last-Event-ID the client sent, or "".
	LastEventID string
	// ResetReason, when not "", says the caller already knows the position
	// cannot be resumed (for example, the ID was too long to read): the
	// broker skips replay and reports a reset with this reason.
	ResetReason string
	// Limits bound the subscription's queue; zero fields take the defaults.
	Limits QueueLimits
}

// Subscription is a stream of frames from a [Broker]. Fetch and Ready may be
// used by one goroutine while the broker pushes from others.
type Subscription interface {
	// Ready returns a channel that receives a value when frames are waiting
	// or the subscription has ended. The channel never closes; after a
	// value, Fetch may still find nothing.
	Ready() <-chan struct{}
	// Fetch appends every waiting frame to dst, oldest first, and returns
	// it; it never blocks. The frames are shared with other subscribers
	// and must not be modified. Once the subscription has ended and its
	// frames are fetched, err says why: ErrSlowConsumer, ErrBrokerClosed,
	// or a broker's own error.
	Fetch(dst [][]byte) (frames [][]byte, err error)
	// Replayed returns the number of frames delivered from history.
	Replayed() int
	// Reset returns why the requested position could not be resumed (one
	// of the schema.Reset* reasons), or "".
	Reset() string
	// Close ends the subscription and releases what it holds. It is
	// idempotent.
	Close()
}

var (
	// ErrBrokerClosed is returned by a Broker after Close.
	ErrBrokerClosed = errors.New("server: broker closed")
	// ErrSlowConsumer ends a subscription whose queue overflowed.
	ErrSlowConsumer = errors.New("server: subscriber too slow, queue overflowed")
)
