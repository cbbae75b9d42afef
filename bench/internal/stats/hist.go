// Package stats holds the harness's latency histogram and the summaries of
// repeated measurements.
package stats

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Hist is a log-linear histogram of durations with microsecond resolution
// below 64 µs and about 3% relative precision above, safe for concurrent
// use. Its exact maximum is kept apart. The zero Hist is empty.
type Hist struct {
	counts [nBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

const (
	subBits  = 5
	sub      = 1 << subBits // sub-buckets per power of two
	linear   = 2 * sub      // values below this many µs have a bucket each
	nBuckets = linear + 40*sub
)

func bucket(us uint64) int {
	if us < linear {
		return int(us)
	}
	shift := bits.Len64(us) - subBits - 1 // >= 1
	mant := us >> shift                   // in [sub, 2*sub)
	i := linear + (shift-1)*sub + int(mant-sub)
	return min(i, nBuckets-1)
}

// lower returns the smallest value, in µs, of bucket i.
func lower(i int) uint64 {
	if i < linear {
		return uint64(i)
	}
	shift := (i-linear)/sub + 1
	mant := uint64((i-linear)%sub + sub)
	return mant << shift
}

// Record adds one duration; negative ones count as zero.
func (h *Hist) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(uint64(d/time.Microsecond))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// Count returns the number of durations recorded.
func (h *Hist) Count() uint64 { return h.n.Load() }

// Max returns the largest duration recorded.
func (h *Hist) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the duration below which a fraction q of the recorded
// ones fall, to the histogram's precision (the middle of its bucket), and 0
// for an empty histogram.
func (h *Hist) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := lower(i), lower(i+1)
			d := time.Duration((lo+hi)/2) * time.Microsecond
			if hi-lo <= 1 {
				d = time.Duration(lo)*time.Microsecond + time.Microsecond/2
			}
			return min(d, h.Max())
		}
	}
	return h.Max()
}

// Reset empties the histogram. Records that race with it may land on
// either side.
func (h *Hist) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.n.Store(0)
	h.max.Store(0)
}

// Snapshot is a histogram's content in a form that crosses a process
// boundary as JSON, so that the histograms of several load generators can
// be merged into one before taking quantiles (quantiles of the parts do not
// combine).
type Snapshot struct {
	Counts []uint64      `json:"counts,omitempty"` // per bucket, without the trailing empty ones
	Max    time.Duration `json:"max,omitempty"`
}

// Snapshot returns the histogram's content. Records that race with it may
// be left out.
func (h *Hist) Snapshot() Snapshot {
	s := Snapshot{Max: h.Max()}
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			for len(s.Counts) < i {
				s.Counts = append(s.Counts, 0)
			}
			s.Counts = append(s.Counts, c)
		}
	}
	return s
}

// Merge adds the durations of s to the histogram, as if they had been
// recorded in it. Counts past the histogram's buckets are ignored.
func (h *Hist) Merge(s Snapshot) {
	for i, c := range s.Counts[:min(len(s.Counts), nBuckets)] {
		if c != 0 {
			h.counts[i].Add(c)
			h.n.Add(c)
		}
	}
	for {
		m := h.max.Load()
		if int64(s.Max) <= m || h.max.CompareAndSwap(m, int64(s.Max)) {
			break
		}
	}
}

// Summary is what reports show of a histogram.
type Summary struct {
	N   uint64        `json:"n"`
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// Summary returns the histogram's count, median, 99th percentile and max.
func (h *Hist) Summary() Summary {
	return Summary{N: h.Count(), P50: h.Quantile(0.50), P99: h.Quantile(0.99), Max: h.Max()}
}
