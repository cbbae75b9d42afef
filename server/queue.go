package server

import "sync"

// QueueLimits bound what waits for one connection's writer. When a publish
// would go past either limit the subscription ends with [ErrSlowConsumer].
type QueueLimits struct {
	Frames int // frames waiting; default 4096
	Bytes  int // bytes waiting; default 4 MiB
}

// Default queue limits.
const (
	DefaultQueueFrames = 4096
	DefaultQueueBytes  = 4 << 20
)

func (l QueueLimits) withDefaults() QueueLimits {
	if l.Frames <= 0 {
		l.Frames = DefaultQueueFrames
	}
	if l.Bytes <= 0 {
		l.Bytes = DefaultQueueBytes
	}
	return l
}

// Queue is the bounded, non-blocking frame queue behind a [Subscription],
// for Broker implementations: the broker pushes, the connection's writer
// fetches everything waiting at once. A Queue never blocks its pusher.
type Queue struct {
	mu     sync.Mutex
	frames []Frame
	bytes  int
	limits QueueLimits
	err    error
	ready  chan struct{}
}

// NewQueue returns an empty queue with the given limits (zero fields take
// the defaults).
func NewQueue(limits QueueLimits) *Queue {
	return &Queue{limits: limits.withDefaults(), ready: make(chan struct{}, 1)}
}

// Push adds frame to the queue and reports whether the queue is still open.
// When frame would overflow the limits the queue ends with
// [ErrSlowConsumer], dropping what it held, and Push returns false; the
// caller then stops pushing to it.
func (q *Queue) Push(frame Frame) bool {
	q.mu.Lock()
	if q.err != nil {
		q.mu.Unlock()
		return false
	}
	if len(q.frames) >= q.limits.Frames || q.bytes+len(frame.Bytes) > q.limits.Bytes {
		q.err = ErrSlowConsumer
		clear(q.frames)
		q.frames, q.bytes = nil, 0
		q.mu.Unlock()
		q.signal()
		return false
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame.Bytes)
	first := len(q.frames) == 1
	q.mu.Unlock()
	if first {
		q.signal()
	}
	return true
}

// End ends the queue with err (when it has not ended already). Frames
// already queued are still fetched before err is reported.
func (q *Queue) End(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	q.mu.Unlock()
	q.signal()
}

// Ready implements [Subscription].
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// Fetch implements [Subscription].
func (q *Queue) Fetch(dst []Frame) ([]Frame, error) {
	q.mu.Lock()
	dst = append(dst, q.frames...)
	clear(q.frames)
	q.frames = q.frames[:0]
	q.bytes = 0
	err := q.err
	q.mu.Unlock()
	return dst, err
}

func (q *Queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// QueueSubscription is a [Subscription] built on a [Queue], for brokers to
// embed: the broker pushes the frames of the subscription's topics to its
// Queue, and says what to undo when the subscription closes.
//
//	type sub struct {
//		*server.QueueSubscription
//		topics []string
//	}
//	s := &sub{topics: req.Topics}
//	s.QueueSubscription = server.NewQueueSubscription(req.Limits, lastSeq, func() { b.unsubscribe(s) })
type QueueSubscription struct {
	*Queue
	pos     uint64
	onClose func()
	once    sync.Once
}

// NewQueueSubscription returns a subscription whose Position is pos and
// whose queue has the given limits. onClose, when not nil, runs once, on
// the first Close, before the queue ends with ErrBrokerClosed: remove the
// subscription from the broker's fan-out there.
func NewQueueSubscription(limits QueueLimits, pos uint64, onClose func()) *QueueSubscription {
	return &QueueSubscription{Queue: NewQueue(limits), pos: pos, onClose: onClose}
}

// Position implements [Subscription].
func (s *QueueSubscription) Position() uint64 { return s.pos }

// Close implements [Subscription].
func (s *QueueSubscription) Close() {
	s.once.Do(func() {
		if s.onClose != nil {
			s.onClose()
		}
		s.End(ErrBrokerClosed)
	})
}
