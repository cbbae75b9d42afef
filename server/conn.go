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
	beat  atomic.Bool   // an interval passed with nothing written: write a heartbeat
	wrote atomic.Bool   // something was written since the last tick

	mu   sync.Mutex
	stop error // why the stream must end, once set
}

func newConn() *conn { return &conn{wake: make(chan struct{}, 1)} }

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

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

// heartbeat ticks every d until stopped, asking the stream for a heartbeat
// comment when nothing was written since the previous tick. A silent stream
// thus gets one after between d and 2d; the writer only marks its writes
// (conn.wrote) instead of resetting a timer at every event.
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

func (h *heartbeat) tick() {
	if !h.c.wrote.Swap(false) {
		h.c.beat.Store(true)
		h.c.signal()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stopped { // a tick in flight when stop ran must not re-arm
		h.t.Reset(h.d)
	}
}

func (h *heartbeat) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	h.t.Stop()
}
