package server

import (
	"testing"
	"time"
)

// TestHeartbeatStopRace runs a tick after stop, as happens when stop races
// with a tick in flight: it must not re-arm the timer, which would keep
// ticking for a stream that has ended.
func TestHeartbeatStopRace(t *testing.T) {
	h := newConn().heartbeat(time.Hour)
	h.stop()
	h.tick()
	if h.t.Stop() {
		t.Fatal("a tick after stop re-armed the heartbeat timer")
	}
}

// TestHeartbeatTicks checks that the timer keeps ticking while the stream
// is silent, and that a tick after a write asks for nothing.
func TestHeartbeatTicks(t *testing.T) {
	c := newConn()
	h := c.heartbeat(time.Millisecond)
	defer h.stop()
	for range 3 { // each wake-up is a tick re-armed by the previous one
		<-c.wake
		if !c.beat.Swap(false) {
			t.Fatal("a silent interval asked for no heartbeat")
		}
	}

	w := newConn()
	hw := w.heartbeat(time.Hour)
	defer hw.stop()
	w.wrote()
	hw.tick()
	if w.beat.Load() {
		t.Fatal("a tick right after a write asked for a heartbeat")
	}
}
