package server

import (
	"sync"
	"sync/atomic"
)

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
//
// A Queue must not be copied once used.
type Queue struct {
	// What Push reads and writes, first.
	floor  atomic.Uint64 // frames at or below it are dropped: the stream has them
	mu     sync.Mutex
	n      atomic.Int32 // len(frames), read without the lock
	ended  atomic.Bool  // err != nil, read without the lock (set with it)
	frames []Frame
	bytes  int
	err    error
	notify notifier // when set, told instead of signalling ready
	limits QueueLimits
	ready  chan struct{}
	small  [1]Frame // frames' array while no more wait: no allocation of its own
}

// notifier is told that a queue has frames, or has ended: the server's
// stream, which then schedules its writer.
type notifier interface{ notify() }

// NewQueue returns an empty queue with the given limits (zero fields take
// the defaults).
func NewQueue(limits QueueLimits) *Queue {
	q := new(Queue)
	q.init(limits)
	q.ready = make(chan struct{}, 1)
	return q
}

// init readies a queue without a Ready channel: the server's own, which
// tells its stream (setNotify) instead.
func (q *Queue) init(limits QueueLimits) {
	q.limits = limits.withDefaults()
	q.frames = q.small[:0]
}

// reopen empties a queue that ended, for a new subscription. Call it once
// the old one can push no more.
func (q *Queue) reopen() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.frames)
	q.frames, q.bytes, q.err = q.small[:0], 0, nil
	q.n.Store(0)
	q.ended.Store(false)
}

// Push adds frame to the queue and reports whether the queue is still open.
// When frame would overflow the limits the queue ends with
// [ErrSlowConsumer], dropping what it held, and Push returns false; the
// caller then stops pushing to it.
func (q *Queue) Push(frame Frame) bool {
	if frame.Seq <= q.floor.Load() {
		return true // the stream wrote it from a replay
	}
	q.mu.Lock()
	if q.err != nil {
		q.mu.Unlock()
		return false
	}
	if len(q.frames) >= q.limits.Frames || q.bytes+len(frame.Bytes) > q.limits.Bytes {
		q.err = ErrSlowConsumer
		q.ended.Store(true)
		clear(q.frames)
		q.frames, q.bytes = q.small[:0], 0
		q.n.Store(0)
		notify := q.notify
		q.mu.Unlock()
		q.signal(notify)
		return false
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame.Bytes)
	q.n.Store(int32(len(q.frames)))
	first := len(q.frames) == 1
	notify := q.notify
	q.mu.Unlock()
	if first {
		q.signal(notify)
	}
	return true
}

// End ends the queue with err (when it has not ended already). Frames
// already queued are still fetched before err is reported.
func (q *Queue) End(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
		q.ended.Store(true)
	}
	notify := q.notify
	q.mu.Unlock()
	q.signal(notify)
}

// setNotify makes the queue tell n, instead of sending on the Ready
// channel, whenever it gets frames while empty and when it ends: the
// server's fan-out schedules the stream's writer this way, without a
// wake-up of its own.
func (q *Queue) setNotify(n notifier) {
	q.mu.Lock()
	q.notify = n
	q.mu.Unlock()
}

// Ended returns why the queue ended, or nil while it is open, without
// taking its frames.
func (q *Queue) Ended() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// trim drops the array of a queue that is empty, kept from its last burst:
// the server's watchdog trims the queues of its streams now and then, so
// that an idle stream holds none.
func (q *Queue) trim() {
	if q.n.Load() != 0 {
		return
	}
	q.mu.Lock()
	if len(q.frames) == 0 && cap(q.frames) > len(q.small) {
		q.frames = q.small[:0]
	}
	q.mu.Unlock()
}

// Len returns the number of frames waiting.
func (q *Queue) Len() int { return int(q.n.Load()) }

// Ready implements [Subscription].
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// Fetch implements [Subscription].
func (q *Queue) Fetch(dst []Frame) ([]Frame, error) {
	q.mu.Lock()
	dst = append(dst, q.frames...)
	clear(q.frames)
	q.frames = q.frames[:0] // kept for the next burst; see trim
	q.bytes = 0
	q.n.Store(0)
	err := q.err
	q.mu.Unlock()
	return dst, err
}

func (q *Queue) signal(notify notifier) {
	if notify != nil {
		notify.notify()
		return
	}
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
//	s.QueueSubscription = server.NewQueueSubscription(req, lastSeq, func() { b.unsubscribe(s) })
type QueueSubscription struct {
	*Queue
	pos     uint64
	onClose func()
	once    sync.Once
}

// NewQueueSubscription returns a subscription of req whose Position is
// pos: its queue is req.Queue, or a new one with req.Limits. onClose, when
// not nil, runs once, on the first Close, before the queue ends with
// ErrBrokerClosed: remove the subscription from the broker's fan-out
// there.
func NewQueueSubscription(req SubscribeRequest, pos uint64, onClose func()) *QueueSubscription {
	q := req.Queue
	if q == nil {
		q = NewQueue(req.Limits)
	}
	return &QueueSubscription{Queue: q, pos: pos, onClose: onClose}
}

// Position implements [Subscription].
func (s *QueueSubscription) Position() uint64 { return s.pos }

// queue tells the server which Queue the subscription pushes to.
func (s *QueueSubscription) queue() *Queue { return s.Queue }

// Close implements [Subscription].
func (s *QueueSubscription) Close() {
	s.once.Do(func() {
		if s.onClose != nil {
			s.onClose()
		}
		s.End(ErrBrokerClosed)
	})
}
