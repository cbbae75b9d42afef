package stats

import (
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	t.Parallel()
	prev := -1
	for us := uint64(0); us < 1<<30; us = us*17/16 + 1 {
		i := bucket(us)
		if i < prev {
			t.Fatalf("bucket(%d) = %d; want >= %d", us, i, prev)
		}
		prev = i
		if lo, hi := lower(i), lower(i+1); us < lo || us >= hi {
			t.Fatalf("bucket(%d) = %d covering [%d, %d)", us, i, lo, hi)
		}
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	var h Hist
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.Quantile(c.q)
		if d := float64(got-c.want) / float64(c.want); d < -0.04 || d > 0.04 {
			t.Errorf("Quantile(%v) = %v; want %v within 4%%", c.q, got, c.want)
		}
	}
	if got := h.Max(); got != time.Second {
		t.Errorf("Max() = %v; want 1s", got)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	var all, a, b, merged Hist
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	merged.Merge(a.Snapshot())
	merged.Merge(b.Snapshot())
	if got, want := merged.Summary(), all.Summary(); got != want {
		t.Errorf("Merge(a), Merge(b): Summary() = %+v; want %+v", got, want)
	}
	var empty Hist
	empty.Merge(Snapshot{})
	if got := empty.Summary(); got != (Summary{}) {
		t.Errorf("Merge(Snapshot{}): Summary() = %+v; want the zero Summary", got)
	}
}
