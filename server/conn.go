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
	wake chan struct{} // capacity 1: a pending wake-up
	beat atomic.Bool   // the heartbeat interval passed with nothing written

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

// heartbeat starts the heartbeat timer; Reset it after each write.
func (c *conn) heartbeat(d time.Duration) *time.Timer {
	return time.AfterFunc(d, func() {
		c.beat.Store(true)
		c.signal()
	})
}
