package client

import (
	"sync"
	"testing"
	"time"
)

// fakeClock drives a Watchdog's time and timers by hand.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) after(d time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.t + d, f: f}
	c.timers = append(c.timers, t)
	return t.Stop
}

// advance moves the clock forward by d, running the timers that come due,
// in order, on the calling goroutine.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	end := c.t + d
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && t.at <= end && (next == nil || t.at < next.at) {
				next = t
			}
		}
		if next == nil {
			c.t = end
			c.mu.Unlock()
			return
		}
		next.stopped = true
		c.t = max(c.t, next.at)
		c.mu.Unlock()
		next.f()
	}
}

func newFakeWatchdog() (*Watchdog, *fakeClock, *int) {
	c := &fakeClock{}
	fired := new(int)
	w := NewWatchdog(func() { *fired++ })
	w.now, w.after = c.now, c.after
	return w, c, fired
}

func TestWatchdogFiresAfterThreeSilentIntervals(t *testing.T) {
	w, c, fired := newFakeWatchdog()
	c.advance(time.Hour)
	if *fired != 0 {
		t.Fatal("fired with no interval")
	}
	w.SetInterval(time.Second)
	if got := w.Timeout(); got != 3*time.Second {
		t.Errorf("Timeout() = %v; want 3s", got)
	}
	c.advance(2999 * time.Millisecond)
	if *fired != 0 {
		t.Fatal("fired before 3 intervals")
	}
	c.advance(time.Millisecond)
	if *fired != 1 {
		t.Fatalf("fired %d times at 3 intervals; want 1", *fired)
	}
	c.advance(time.Hour)
	if *fired != 1 {
		t.Fatalf("fired %d times; want once until Resume", *fired)
	}
	w.Resume()
	c.advance(3 * time.Second)
	if *fired != 2 {
		t.Fatalf("fired %d times after Resume and 3 intervals; want 2", *fired)
	}
}

func TestWatchdogAliveKeepsItQuiet(t *testing.T) {
	w, c, fired := newFakeWatchdog()
	w.SetInterval(time.Second)
	for range 100 { // a heartbeat every interval, for 100 intervals
		c.advance(time.Second)
		w.Alive()
	}
	if *fired != 0 {
		t.Fatalf("fired %d times while heartbeats came; want 0", *fired)
	}
	c.advance(2 * time.Second)
	w.Alive() // the allowance counts from the last sign of life
	c.advance(2999 * time.Millisecond)
	if *fired != 0 {
		t.Fatal("fired less than 3 intervals after the last sign of life")
	}
	c.advance(time.Millisecond)
	if *fired != 1 {
		t.Fatalf("fired %d times; want 1", *fired)
	}
}

func TestWatchdogPauseStopDisarm(t *testing.T) {
	w, c, fired := newFakeWatchdog()
	w.SetInterval(time.Second)
	c.advance(2 * time.Second)
	w.Pause()
	c.advance(time.Hour)
	if *fired != 0 {
		t.Fatal("fired while paused")
	}
	w.Resume() // counts from now
	c.advance(2999 * time.Millisecond)
	if *fired != 0 {
		t.Fatal("fired less than 3 intervals after Resume")
	}
	w.SetInterval(0) // a server with no heartbeat
	c.advance(time.Hour)
	if *fired != 0 {
		t.Fatal("fired when disarmed")
	}
	w.SetInterval(time.Second)
	w.Stop()
	w.Resume() // Stop is for good
	c.advance(time.Hour)
	if *fired != 0 {
		t.Fatal("fired after Stop")
	}
}

func TestWatchdogSuspect(t *testing.T) {
	w, c, _ := newFakeWatchdog()
	if w.Suspect() {
		t.Error("Suspect() with no interval = true")
	}
	w.SetInterval(time.Second)
	c.advance(1500 * time.Millisecond)
	if w.Suspect() {
		t.Error("Suspect() after 1.5 intervals = true; want false (not more than 1.5)")
	}
	c.advance(time.Millisecond)
	if !w.Suspect() {
		t.Error("Suspect() after more than 1.5 intervals = false")
	}
	w.Alive()
	if w.Suspect() {
		t.Error("Suspect() right after Alive = true")
	}
	if got, want := w.String(), "3 heartbeat intervals of 1s"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

func TestWokenWithoutSleep(t *testing.T) {
	w, c, _ := newFakeWatchdog()
	for _, tt := range []struct {
		k       Wake
		waiting bool
		want    bool
	}{
		{WakeOnline, true, true}, {WakeVisible, true, true},
		{WakeOnline, false, true}, {WakeResume, false, true}, {WakeVisible, false, false},
	} {
		if got := w.Woken(tt.k, tt.waiting); got != tt.want {
			t.Errorf("Woken(%v, waiting %v, no interval, no sleep) = %v; want %v", tt.k, tt.waiting, got, tt.want)
		}
	}
	w.SetInterval(time.Second)
	if w.Woken(WakeOnline, false) {
		t.Error("Woken(online) with heartbeats arriving = true; want false")
	}
	c.advance(2 * time.Second)
	if !w.Woken(WakeVisible, false) {
		t.Error("Woken(visible) after 2 silent intervals = false; want true")
	}
}

func TestWokenAfterSleep(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		k        Wake
		slept    time.Duration
		heard    bool // something arrived while asleep
		want     bool
	}{
		{"online, nothing since offline", 15 * time.Second, WakeOnline, 2 * time.Second, false, true},
		{"online, the stream went on", 15 * time.Second, WakeOnline, 2 * time.Second, true, false},
		{"resume, frozen 12s with 15s heartbeats", 15 * time.Second, WakeResume, 12 * time.Second, false, true},
		{"resume, no heartbeat", 0, WakeResume, time.Second, false, true},
		{"visible, hidden less than an interval", 15 * time.Second, WakeVisible, 10 * time.Second, false, false},
		{"visible, hidden longer, nothing heard", 15 * time.Second, WakeVisible, 20 * time.Second, false, true},
		{"visible, hidden longer, heartbeats heard", 15 * time.Second, WakeVisible, 20 * time.Second, true, false},
		{"visible, no heartbeat, a minute", 0, WakeVisible, time.Minute, false, true},
		{"visible, no heartbeat, less", 0, WakeVisible, 59 * time.Second, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, c, _ := newFakeWatchdog()
			w.SetInterval(tt.interval)
			c.advance(time.Second)
			w.Alive()
			c.advance(time.Millisecond)
			w.Asleep(tt.k)
			c.advance(tt.slept / 2)
			if tt.heard {
				w.Alive()
			}
			w.Resume() // a new attempt is no sign of life
			c.advance(tt.slept - tt.slept/2)
			if got := w.Woken(tt.k, false); got != tt.want {
				t.Errorf("Woken(%v) = %v; want %v", tt.k, got, tt.want)
			}
			if !w.Woken(tt.k, true) {
				t.Errorf("Woken(%v, waiting) = false; want true", tt.k)
			}
		})
	}
}

// The real timers: a watchdog fires, on its own goroutine, no earlier than
// its timeout.
func TestWatchdogRealTimer(t *testing.T) {
	t.Parallel()
	fired := make(chan time.Time, 1)
	w := NewWatchdog(func() { fired <- time.Now() })
	defer w.Stop()
	start := time.Now()
	w.SetInterval(10 * time.Millisecond)
	select {
	case at := <-fired:
		if d := at.Sub(start); d < 30*time.Millisecond {
			t.Errorf("fired after %v; want at least 30ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not fire within 5s")
	}
}
