package server

import (
	"errors"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one stream's writing side. Its frames are written by whoever
// holds wmu: a worker of the Server's pool, which takes streams that have
// frames waiting from the ready queue (pooled), or the stream's own
// goroutine, the handler's (own). A stream starts on its own goroutine (the
// hello, a replay), moves to the pool, and returns to its own goroutine
// while it is behind: a backlog, or a slow write, is then its own
// goroutine's to wait out, not a worker's.
//
// What a delivery touches is laid out in one object: the stream's queue,
// its state and the response's controller live in the conn itself.
type conn struct {
	// What a push touches comes first: the queue, then what its notice
	// reads, on as few cache lines as can be.
	queue     Queue       // the subscription's, unless its broker feeds one of its own
	scheduled atomic.Bool // on the pool's ready queue
	own       atomic.Bool // written by its own goroutine, not by the pool
	beat      atomic.Bool // the stream was silent for an interval: write a heartbeat
	mine      bool        // sub pushes to queue: the pool may write the stream
	s         *Server

	wmu    sync.Mutex // held while writing to w
	closed bool       // guarded by wmu: the stream has ended, nothing more is written
	w      http.ResponseWriter
	sub    Subscription
	rc     http.ResponseController
	// lastSeq: live frames at or below it were written by the replay, or
	// came before the stream's position.
	lastSeq    uint64
	writeStart atomic.Int64 // nanotime when the write in flight began, 0 when none
	wrote      atomic.Int64 // nanotime of the last write
	beatAt     atomic.Int64 // nanotime of the last heartbeat
	timedOut   atomic.Bool  // the watchdog ended a write that took too long
	everyBeat  bool         // heartbeats are events: one every interval
	body       *bodyTracker // the request's body, when it has one

	wake chan struct{} // capacity 1: the own goroutine has something to do
	mu   sync.Mutex
	stop error // why the stream must end, once set
	done bool  // the handler is returning: the ResponseWriter is off limits
}

// The thresholds that move a stream between the pool and its own goroutine.
const (
	// slowDrain: a pooled write that took longer, and longer than
	// slowFrame for each of its frames (a backlog is written at once, and
	// quickly), hands the stream to its own goroutine. It is longer than
	// the scheduler's time slice (10 ms): a worker that another goroutine
	// preempted, which on a busy core is common, did not find a slow
	// client, and a stream moved to its own goroutine for nothing costs a
	// wake-up per event.
	slowDrain = 25 * time.Millisecond
	slowFrame = 20 * time.Microsecond
	// fastDrain: an own goroutine's write that took less, of one frame at
	// most, gives the stream back to the pool.
	fastDrain = 2 * time.Millisecond
)

func newConn(s *Server, w http.ResponseWriter, body *bodyTracker) *conn {
	c := &conn{s: s, w: w, rc: *http.NewResponseController(w), body: body, wake: make(chan struct{}, 1)}
	c.queue.init(s.cfg.limits)
	c.own.Store(true)
	c.wrote.Store(nanotime())
	return c
}

// request is the stream's subscription request for topics, with its queue.
func (c *conn) request(topics []string) SubscribeRequest {
	return SubscribeRequest{Topics: topics, Limits: c.s.cfg.limits, Queue: &c.queue}
}

// adopt makes sub the stream's subscription. When it pushes to the
// stream's queue, the queue tells the stream when frames wait, and the pool
// may write it.
func (c *conn) adopt(sub Subscription) {
	c.sub = sub
	qs, ok := sub.(interface{ queue() *Queue })
	c.mine = ok && qs.queue() == &c.queue
	if c.mine {
		c.queue.setNotify(c)
	}
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// notify is the queue's notice that frames are waiting, or that it ended.
func (c *conn) notify() {
	if c.own.Load() {
		c.signal()
		return
	}
	c.s.pool.schedule(c)
}

// end asks the stream to stop with err (the first reason wins).
func (c *conn) end(err error) {
	c.mu.Lock()
	if c.stop == nil {
		c.stop = err
	}
	c.mu.Unlock()
	c.signal()
}

func (c *conn) stopped() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stop
}

// drainPooled is a pool worker's turn with the stream, at now: write what
// waits, coalesced, unless another goroutine is writing it (which then
// looks again once it is done) or it belongs to its own goroutine. A slow
// write hands the stream to its own goroutine: the worker notices it when
// it next reads the clock (see pool.work).
//
// It returns the number of frames it wrote.
func (c *conn) drainPooled(now int64, sc *scratch) (frames int) {
	for {
		if c.own.Load() {
			c.signal()
			return frames
		}
		if !c.wmu.TryLock() {
			return frames
		}
		if c.closed {
			c.wmu.Unlock()
			return frames // ended: what still waits is nobody's
		}
		n, err := c.drainLocked(now, sc)
		c.wmu.Unlock()
		frames += n
		if err != nil {
			c.end(err)
			return frames
		}
		// A frame pushed while the stream was being written found it
		// taken: look once more.
		if !c.waiting() {
			return frames
		}
	}
}

// toOwn hands the stream to its own goroutine.
func (c *conn) toOwn() {
	c.own.Store(true)
	c.signal()
}

// drainOwn is the own goroutine's turn: write what waits, then give the
// stream back to the pool when it has caught up.
func (c *conn) drainOwn() error {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return nil
	}
	start := nanotime()
	sc := c.s.scratch()
	n, err := c.drainLocked(start, sc)
	putScratch(sc)
	if f := c.s.afterOwnDrain.Load(); f != nil {
		(*f)()
	}
	back := err == nil && n <= 1 && nanotime()-start < int64(fastDrain) && c.pooled()
	if back {
		c.own.Store(false)
	}
	c.wmu.Unlock()
	// A frame pushed once the stream was the pool's again went to the
	// pool, whose worker may have found it still taken: look once the
	// stream is free.
	if back && c.waiting() {
		c.s.pool.schedule(c)
	}
	return err
}

// pooled reports whether the stream may be written by the pool: its
// subscription pushes to its queue, which tells it when frames wait.
func (c *conn) pooled() bool { return c.mine }

// waiting reports whether the stream has something to write, or an end
// to take: a writer that finds the stream taken leaves both to the
// goroutine holding it, which asks this once it is done.
func (c *conn) waiting() bool {
	return c.beat.Load() || c.mine && (c.queue.Len() > 0 || c.queue.ended.Load())
}

// drainLocked fetches what waits and writes it, with a heartbeat if the
// stream was silent; it returns the number of frames fetched. Call with wmu
// held. A subscription that has ended ends the stream.
func (c *conn) drainLocked(now int64, sc *scratch) (int, error) {
	if c.closed {
		return 0, nil
	}
	var frames []Frame
	var end error
	if c.mine {
		frames, end = c.queue.Fetch(sc.frames[:0])
	} else {
		frames, end = c.sub.Fetch(sc.frames[:0])
	}
	n := len(frames)
	// Frames at or below c.last were written by the replay, or came
	// before the stream's position; the queue holds them in order.
	i := 0
	for i < len(frames) && frames[i].Seq <= c.lastSeq {
		i++
	}
	var head []byte
	if c.beat.Swap(false) && (i == len(frames) || c.everyBeat) {
		head = heartbeatComment
		if c.everyBeat {
			head = heartbeatEvent
		}
		c.beatAt.Store(now)
	}
	var err error
	if len(head) > 0 || i < len(frames) {
		err = c.write(head, frames[i:], now, sc)
		if err == nil {
			sc.delivered.Add(uint64(len(frames) - i))
		}
	}
	clear(frames) // do not pin shared frames
	sc.frames = frames[:0]
	if err == nil {
		err = end
	}
	return n, err
}

// write writes head and frames, coalesced, then flushes, under the
// watchdog's eye (see watchdog); now is when it starts.
func (c *conn) write(head []byte, frames []Frame, now int64, sc *scratch) error {
	c.wrote.Store(now)
	err := c.s.write(c, head, frames, now, sc)
	c.writeStart.Store(0)
	if err != nil && c.timedOut.Load() {
		return errWriteTimeout
	}
	return err
}

var errWriteTimeout = errors.New("server: a write to the client took longer than the write timeout")

// timeOut ends the write in flight with a deadline in the past: the
// client has not taken it within the write timeout.
func (c *conn) timeOut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.timedOut.Store(true)
	_ = c.rc.SetWriteDeadline(time.Now().Add(-time.Second))
}

// release marks the stream as done once nothing writes it any more: from
// then on the watchdog leaves its ResponseWriter alone.
func (c *conn) release() {
	c.wmu.Lock() // wait for a worker's write in flight
	c.closed = true
	c.wmu.Unlock()
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
}

// beatDue reports whether the stream needs a heartbeat at now: it has
// been silent for the interval d, less slack (the watchdog looks at it
// every slack, so that no silence is longer than d). A stream whose
// heartbeats are events, for clients that watch for silence, gets one
// every interval whatever else it was written: such a client may not see
// events of types it does not listen to.
func (c *conn) beatDue(now int64, d, slack time.Duration) bool {
	since := c.wrote.Load()
	if c.everyBeat {
		since = c.beatAt.Load()
	}
	return time.Duration(now-since) >= d-slack
}

// askBeat asks the stream's writer for a heartbeat.
func (c *conn) askBeat() {
	c.beat.Store(true)
	c.notify()
}

// isTimeout reports whether err is a write that ran out of time.
func isTimeout(err error) bool {
	return errors.Is(err, errWriteTimeout) || errors.Is(err, os.ErrDeadlineExceeded)
}
