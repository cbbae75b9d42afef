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
