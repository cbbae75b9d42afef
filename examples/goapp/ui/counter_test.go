package ui

import (
	"testing"

	"github.com/ssekit/ssekit/examples/goapp/events"
)

func TestCounterAdd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		counts              []int64
		missing             int64
		repeated            int
		first, last, listed int64
	}{
		{name: "consecutive", counts: []int64{7, 8, 9}, first: 7, last: 9, listed: 3},
		{name: "gap", counts: []int64{7, 8, 11}, missing: 2, first: 7, last: 11, listed: 3},
		{name: "repeat", counts: []int64{7, 8, 8, 9}, repeated: 1, first: 7, last: 9, listed: 4},
		{name: "older", counts: []int64{7, 8, 5}, repeated: 1, first: 7, last: 5, listed: 3},
		{name: "window", counts: seq(1, maxTicks+5), first: 6, last: maxTicks + 5, listed: maxTicks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c Counter
			for _, n := range tt.counts {
				c.add(events.Count{N: n}, "")
			}
			if c.missing != tt.missing || c.repeated != tt.repeated || c.received != len(tt.counts) {
				t.Errorf("after %v: missing, repeated, received = %d, %d, %d; want %d, %d, %d",
					tt.counts, c.missing, c.repeated, c.received, tt.missing, tt.repeated, len(tt.counts))
			}
			if got := int64(len(c.ticks)); got != tt.listed || c.ticks[0].N != tt.first || c.ticks[got-1].N != tt.last {
				t.Errorf("after %v: %d ticks listed, %d to %d; want %d, %d to %d",
					tt.counts, got, c.ticks[0].N, c.ticks[got-1].N, tt.listed, tt.first, tt.last)
			}
		})
	}
}

func seq(from, to int64) []int64 {
	var s []int64
	for n := from; n <= to; n++ {
		s = append(s, n)
	}
	return s
}
