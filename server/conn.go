package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// conn is what can interrupt one stream's writer besides its frames: the
// heartbeat, the client going away, Shutdown and DisconnectAll. They are
// rare, so they share one channel, and the writer waits in a two-way select
// (frames or wake) instead of locking five channels at every event.
type conn struct {
	wake  chan struct{} // capacity 1: a pending wake-up
	beat  atomic.Bool   // the stream was silent for an interval: write a heartbeat
	start time.Time
	last  atomic.Int64 // when the stream last wrote, as nanoseconds since start

	mu   sync.Mutex
	stop error // why the stream must end, once set
}

func newConn() *conn { return &conn{wake: make(chan struct{}, 1), start: time.Now()} }

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// wrote records that the stream wrote just now.
func (c *conn) wrote() { c.last.Store(int64(time.Since(c.start))) }

// end asks the writer to stop with err (the first reason wins).
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

// heartbeat asks the stream for a heartbeat whenever it has been silent
// for the interval d, so that no silence is longer than d: the writer
// only records when it wrote (conn.wrote), and the timer, when it fires,
// either asks for a heartbeat or waits out what is left of the interval
// since the last write. A heartbeat is a write too: the next one comes d
// after it.
type heartbeat struct {
	c *conn
	d time.Duration

	mu      sync.Mutex // guards t and stopped against a tick in flight
	t       *time.Timer
	stopped bool
}

func (c *conn) heartbeat(d time.Duration) *heartbeat {
	h := &heartbeat{c: c, d: d}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.t = time.AfterFunc(d, h.tick)
	return h
}

// slack is how much short of the interval a silence may be and still get
// its heartbeat now: the writer records its write a moment after the tick
// that asked for it.
func (h *heartbeat) slack() time.Duration { return h.d / 16 }

func (h *heartbeat) tick() {
	silent := time.Since(h.c.start) - time.Duration(h.c.last.Load())
	next := h.d
	if silent >= h.d-h.slack() {
		h.c.beat.Store(true)
		h.c.signal()
	} else {
		next = h.d - silent
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stopped { // a tick in flight when stop ran must not re-arm
		h.t.Reset(next)
	}
}

func (h *heartbeat) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	h.t.Stop()
}
