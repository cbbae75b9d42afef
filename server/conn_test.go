package server

import (
	"testing"
	"time"
)

// TestBeatDue checks when the watchdog asks a stream for a heartbeat: once
// it has been silent for the interval less the watchdog's tick, and, for a
// stream whose heartbeats are events, an interval after the last heartbeat
// whatever else it was written.
func TestBeatDue(t *testing.T) {
	const d, tick = time.Second, 100 * time.Millisecond
	c := &conn{}
	now := int64(10 * time.Second)
	c.wrote.Store(now - int64(d-2*tick))
	if c.beatDue(now, d, tick) {
		t.Error("a stream silent for d-2*tick is due a heartbeat")
	}
	c.wrote.Store(now - int64(d-tick))
	if !c.beatDue(now, d, tick) {
		t.Error("a stream silent for d-tick is not due a heartbeat: the next tick would make the silence longer than d")
	}
	c.everyBeat = true
	c.wrote.Store(now)             // written just now
	c.beatAt.Store(now - int64(d)) // but its last heartbeat was an interval ago
	if !c.beatDue(now, d, tick) {
		t.Error("a stream with event heartbeats is not due one an interval after the last, having been written since")
	}
}

// TestDrainEnded gives a worker a stream that has ended with frames and a
// heartbeat still waiting: it must leave it, not take it again and again
// (a worker spinning on an ended stream starved whole processes).
func TestDrainEnded(t *testing.T) {
	s := &Server{pool: newPool(8)}
	c := &conn{s: s, wake: make(chan struct{}, 1), mine: true}
	c.queue.init(QueueLimits{})
	c.queue.Push(Frame{Seq: 1, Bytes: []byte("data: x\n\n")})
	c.beat.Store(true)
	c.closed = true
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.drainPooled(nanotime(), &scratch{})
		if err := c.drainOwn(); err != nil {
			t.Errorf("drainOwn() of an ended stream = %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a worker kept taking an ended stream")
	}
}
