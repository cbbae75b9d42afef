package client

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// WatchdogIntervals is how many heartbeat intervals of silence make a
// [Watchdog] give a connection up. A server that announces its interval
// sends something at least once per interval, so three missed in a row is
// no accident of timing.
const WatchdogIntervals = 3

// Watchdog notices a connection that died without saying so: a half-open
// TCP connection (a laptop that slept, a NAT that forgot the path, a frozen
// tab) delivers nothing and reports no error. The server announces its
// heartbeat interval in the hello ([HelloHeartbeat]); once told it
// ([Watchdog.SetInterval]), the watchdog calls its function when nothing
// at all has arrived ([Watchdog.Alive]) for [WatchdogIntervals] intervals.
// The transport then closes the connection and reconnects from its last
// event ID.
//
// It is quiet while paused (the transport waits before reconnecting, or
// has stopped reading because the handlers are behind) and after it has
// fired, until [Watchdog.Resume]. Its methods are safe for concurrent use;
// Alive, the one called for every chunk, is a single atomic store.
type Watchdog struct {
	fire  func()
	now   func() time.Duration // monotonic
	after func(time.Duration, func()) stopper

	last  atomic.Int64 // now() of the last sign of life, or of the start of the allowance
	heard atomic.Int64 // now() of the last sign of life

	mu       sync.Mutex
	asleep   [wakeKinds]time.Duration // now() of the sign that a wake-up of that kind ends
	slept    [wakeKinds]bool
	interval time.Duration
	paused   bool
	stopped  bool
	fired    bool
	t        stopper
	gen      uint64 // of the timer in t: a callback of an older one does nothing
}

// stopper stops a timer. It is a func rather than an interface that
// *time.Timer implements: converting a *time.Timer to an interface keeps
// every method of time.Time that any interface could call (formatting,
// parsing, JSON) in a wasm bundle, about 40 KB of brotli.
type stopper func() bool

// NewWatchdog returns a watchdog that calls fire, on a goroutine of its
// own, when the connection has been silent too long. It has no interval
// yet, so it does not fire until [Watchdog.SetInterval].
func NewWatchdog(fire func()) *Watchdog {
	start := time.Now()
	w := &Watchdog{
		fire:  fire,
		now:   func() time.Duration { return time.Since(start) },
		after: func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f).Stop },
	}
	return w
}

// SetInterval sets the server's heartbeat interval, from its hello, and
// counts the silence from now. An interval of 0 or less (a server that
// sends no heartbeat) disarms the watchdog.
func (w *Watchdog) SetInterval(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.interval = max(d, 0)
	w.last.Store(int64(w.now()))
	w.armLocked()
}

// Interval returns the heartbeat interval, or 0 when none is known.
func (w *Watchdog) Interval() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.interval
}

// Timeout returns how long a silence makes the watchdog fire:
// [WatchdogIntervals] heartbeat intervals, or 0 when it is disarmed.
func (w *Watchdog) Timeout() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.interval * WatchdogIntervals
}

// Alive records a sign of life: bytes of the stream, an event, a
// heartbeat.
func (w *Watchdog) Alive() {
	now := int64(w.now())
	w.last.Store(now)
	w.heard.Store(now)
}

// Silence returns how long it is since the last sign of life (or since
// the last SetInterval or Resume).
func (w *Watchdog) Silence() time.Duration { return w.now() - time.Duration(w.last.Load()) }

// Suspect reports whether the connection is probably dead although the
// watchdog has not fired: the interval is known, the watchdog is not
// paused, and nothing arrived for one and a half intervals. The transport
// asks when the page wakes up (it comes back online, or a frozen page
// resumes), when a dead connection should not wait for the watchdog.
func (w *Watchdog) Suspect() bool {
	w.mu.Lock()
	iv, quiet := w.interval, w.paused || w.stopped
	w.mu.Unlock()
	return iv > 0 && !quiet && w.Silence() > iv+iv/2
}

// Pause stops the watchdog until Resume: the transport is not reading, on
// purpose.
func (w *Watchdog) Pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused = true
	w.disarmLocked()
}

// Resume counts the silence from now and arms the watchdog again, after a
// Pause or after it fired: a new attempt to connect has started, or
// reading goes on.
func (w *Watchdog) Resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused, w.fired = false, false
	w.last.Store(int64(w.now()))
	w.armLocked()
}

// Stop stops the watchdog for good.
func (w *Watchdog) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.disarmLocked()
}

func (w *Watchdog) disarmLocked() {
	if w.t != nil {
		w.t()
		w.t = nil
	}
	w.gen++
}

// armLocked starts a timer for the end of the current silence allowance.
func (w *Watchdog) armLocked() {
	w.disarmLocked()
	if w.stopped || w.paused || w.fired || w.interval == 0 {
		return
	}
	w.scheduleLocked(w.interval*WatchdogIntervals - w.Silence())
}

func (w *Watchdog) scheduleLocked(d time.Duration) {
	gen := w.gen
	w.t = w.after(max(d, 0), func() { w.check(gen) })
}

// check runs when the allowance may be over: it fires if nothing arrived
// since, and otherwise waits for the end of the new allowance.
func (w *Watchdog) check(gen uint64) {
	w.mu.Lock()
	if gen != w.gen || w.stopped || w.paused || w.fired || w.interval == 0 {
		w.mu.Unlock()
		return
	}
	timeout := w.interval * WatchdogIntervals
	if left := timeout - w.Silence(); left > 0 {
		w.scheduleLocked(left)
		w.mu.Unlock()
		return
	}
	w.fired = true
	w.t = nil
	w.mu.Unlock()
	w.fire()
}

// String describes the watchdog's rule, as "3 heartbeat intervals of 15s"
// or "disarmed".
func (w *Watchdog) String() string {
	iv := w.Interval()
	if iv == 0 {
		return "disarmed"
	}
	return strconv.Itoa(WatchdogIntervals) + " heartbeat intervals of " + iv.String()
}
