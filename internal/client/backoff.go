package client

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// DefaultRetry is the reconnection time a source uses until the server
// sets one with a retry field. WHATWG HTML §9.2.2
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface)
// leaves it to the user agent ("a few seconds"); Chromium and Firefox use
// three.
const DefaultRetry = 3 * time.Second

// Backoff shapes the waits between failed connection attempts in a row: a
// fetch() that rejected, a body that broke off, a status the caller retries
// (by default 429 and 5xx). It adds what WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model)
// permits ("wait longer … exponential backoff after failed attempts") and
// what the native EventSource does not do.
//
// The first attempt after a failure waits the reconnection time alone, as a
// browser would. The n-th failure in a row (n ≥ 2) waits
//
//	max(retry, Initial) × Multiplier^(n-1)
//
// capped at max(Max, retry) and then shortened by up to Jitter of itself at
// random, so that many clients of a recovering server spread out, but never
// to less than the reconnection time the server asked for.
type Backoff struct {
	// Initial is the least base of the exponential ramp, so that a tiny
	// reconnection time ("retry: 10") does not become a burst of attempts.
	Initial time.Duration
	// Max caps a wait, unless the server's reconnection time is longer.
	Max time.Duration
	// Multiplier (at least 1) grows the wait with every failure in a row.
	Multiplier float64
	// Jitter (0 to 1) is the largest fraction cut off a wait at random.
	Jitter float64
}

// DefaultBackoff returns the [Backoff] of a source that was given none:
// waits from 1 s doubling up to 30 s, with up to half of each cut at random.
func DefaultBackoff() Backoff {
	return Backoff{Initial: time.Second, Max: 30 * time.Second, Multiplier: 2, Jitter: 0.5}
}

// Validate returns an error describing the first field of b that is out of
// range: a negative duration, Max below Initial, a Multiplier below 1 or a
// Jitter outside [0, 1] (NaN included).
func (b Backoff) Validate() error {
	switch {
	case b.Initial < 0:
		return fmt.Errorf("client: Backoff.Initial %v is negative", b.Initial)
	case b.Max < b.Initial:
		return fmt.Errorf("client: Backoff.Max %v is less than Initial %v", b.Max, b.Initial)
	case !(b.Multiplier >= 1) || math.IsInf(b.Multiplier, 0):
		return fmt.Errorf("client: Backoff.Multiplier %v is not a finite number of at least 1", b.Multiplier)
	case !(b.Jitter >= 0 && b.Jitter <= 1):
		return fmt.Errorf("client: Backoff.Jitter %v is not between 0 and 1", b.Jitter)
	}
	return nil
}

// Reconnect keeps a source's reconnection time and its count of failed
// attempts in a row, and says how long to wait before each new attempt.
// A Reconnect is not safe for concurrent use; one goroutine (the one that
// runs the connection) owns it.
type Reconnect struct {
	// Backoff shapes the waits after failures; it must be valid (see
	// [Backoff.Validate]).
	Backoff Backoff
	// Retry is the reconnection time: [DefaultRetry] or what the caller
	// chose at first, then the last value of a retry field. It persists
	// across connections, as the reconnection time belongs to the
	// EventSource (§9.2.2) and not to one response.
	Retry time.Duration
	// Rand returns a number in [0, 1) for the jitter; nil means
	// math/rand/v2.Float64. Tests inject their own.
	Rand func() float64

	failures int
}

// Connected records an accepted response: the failures in a row start over.
func (r *Reconnect) Connected() { r.failures = 0 }

// Reset forgets the failures in a row, as an accepted response does: the
// network they were due to has changed (the browser came back online).
func (r *Reconnect) Reset() { r.failures = 0 }

// Failures returns the failed attempts since the last accepted response.
func (r *Reconnect) Failures() int { return r.failures }

// Ended returns the wait after a stream that was accepted and then ended:
// the reconnection time, as browsers wait after a clean end of the body
// (§9.2.3; WPT eventsource/eventsource-reconnect).
func (r *Reconnect) Ended() time.Duration { return max(r.Retry, 0) }

// Failed records a failed attempt and returns the wait before the next one
// (see [Backoff]). The wait is at least floor, which a caller sets from a
// Retry-After header (see [Decision]).
func (r *Reconnect) Failed(floor time.Duration) time.Duration {
	if r.failures < math.MaxInt32 {
		r.failures++
	}
	retry := max(r.Retry, 0)
	d := retry
	if r.failures >= 2 {
		b := r.Backoff
		base := float64(max(retry, b.Initial))
		limit := float64(max(b.Max, retry))
		wait := min(base*math.Pow(b.Multiplier, float64(r.failures-1)), limit)
		if b.Jitter > 0 {
			u := r.random()
			wait -= wait * b.Jitter * u
		}
		d = retry
		if wait >= math.MaxInt64 {
			d = math.MaxInt64 // float64 cannot hold MaxInt64 exactly
		} else if time.Duration(wait) > retry {
			d = time.Duration(wait)
		}
	}
	return max(d, floor)
}

func (r *Reconnect) random() float64 {
	f := rand.Float64
	if r.Rand != nil {
		f = r.Rand
	}
	u := f()
	if !(u >= 0) { // NaN or negative from a broken source
		return 0
	}
	return min(u, 1)
}
