package client_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
)

const ms = time.Millisecond

// constRand returns a random source that always returns u.
func constRand(u float64) func() float64 { return func() float64 { return u } }

func TestBackoffValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b       client.Backoff
		wantErr string // "" for valid
	}{
		{client.DefaultBackoff(), ""},
		{client.Backoff{Multiplier: 1}, ""}, // no backoff at all: every wait is the reconnection time
		{client.Backoff{Initial: time.Second, Max: time.Second, Multiplier: 1.5, Jitter: 1}, ""},
		{client.Backoff{}, "Multiplier 0"},
		{client.Backoff{Initial: -1, Max: 0, Multiplier: 2}, "Initial -1ns is negative"},
		{client.Backoff{Initial: 2 * time.Second, Max: time.Second, Multiplier: 2}, "Max 1s is less than Initial 2s"},
		{client.Backoff{Max: time.Second, Multiplier: 0.5}, "Multiplier 0.5"},
		{client.Backoff{Max: time.Second, Multiplier: math.NaN()}, "Multiplier NaN"},
		{client.Backoff{Max: time.Second, Multiplier: math.Inf(1)}, "Multiplier +Inf"},
		{client.Backoff{Max: time.Second, Multiplier: 2, Jitter: -0.1}, "Jitter -0.1"},
		{client.Backoff{Max: time.Second, Multiplier: 2, Jitter: 1.5}, "Jitter 1.5"},
		{client.Backoff{Max: time.Second, Multiplier: 2, Jitter: math.NaN()}, "Jitter NaN"},
	}
	for _, tt := range tests {
		err := tt.b.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%+v.Validate() = %v; want nil", tt.b, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "client: ")):
			t.Errorf("%+v.Validate() = %v; want an error containing %q", tt.b, err, tt.wantErr)
		}
	}
}

func TestReconnectFailed(t *testing.T) {
	t.Parallel()
	noJitter := client.Backoff{Initial: 100 * ms, Max: 1000 * ms, Multiplier: 2}
	tests := []struct {
		name    string
		backoff client.Backoff
		retry   time.Duration
		rand    float64
		floors  []time.Duration // Retry-After of each failure; nil means none
		want    []time.Duration // the waits after failures 1, 2, 3, ...
	}{
		{
			name: "first failure waits the reconnection time, then the ramp", backoff: noJitter, retry: 300 * ms,
			want: []time.Duration{300 * ms, 600 * ms, 1000 * ms, 1000 * ms},
		},
		{
			name: "tiny retry ramps from Initial", backoff: noJitter, retry: 2 * ms,
			want: []time.Duration{2 * ms, 200 * ms, 400 * ms, 800 * ms, 1000 * ms},
		},
		{
			name: "retry above Max is never cut", backoff: noJitter, retry: 5 * time.Second,
			want: []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name: "multiplier 1 is no backoff", backoff: client.Backoff{Multiplier: 1}, retry: 50 * ms,
			want: []time.Duration{50 * ms, 50 * ms, 50 * ms},
		},
		{
			name: "jitter never touches the first wait", backoff: client.Backoff{Initial: 100 * ms, Max: time.Second, Multiplier: 2, Jitter: 1}, retry: 100 * ms, rand: 0.999,
			want: []time.Duration{100 * ms, 100 * ms, 100 * ms},
		},
		{
			name: "jitter cuts up to its fraction", backoff: client.Backoff{Initial: 100 * ms, Max: time.Second, Multiplier: 2, Jitter: 0.5}, retry: 10 * ms, rand: 0.5,
			want: []time.Duration{10 * ms, 150 * ms, 300 * ms, 600 * ms, 750 * ms},
		},
		{
			name: "jitter with rand 0 cuts nothing", backoff: client.Backoff{Initial: 100 * ms, Max: time.Second, Multiplier: 2, Jitter: 0.5}, retry: 10 * ms, rand: 0,
			want: []time.Duration{10 * ms, 200 * ms, 400 * ms},
		},
		{
			name: "a broken random source counts as 0", backoff: client.Backoff{Initial: 100 * ms, Max: time.Second, Multiplier: 2, Jitter: 0.5}, retry: 10 * ms, rand: math.NaN(),
			want: []time.Duration{10 * ms, 200 * ms},
		},
		{
			name: "Retry-After is a floor", backoff: noJitter, retry: 100 * ms,
			floors: []time.Duration{2 * time.Second, 0, 5 * ms},
			want:   []time.Duration{2 * time.Second, 200 * ms, 400 * ms},
		},
		{
			name: "zero reconnection time", backoff: client.Backoff{Max: 40 * ms, Multiplier: 2}, retry: 0,
			want: []time.Duration{0, 0, 0},
		},
		{
			name: "negative reconnection time counts as zero", backoff: noJitter, retry: -time.Second,
			want: []time.Duration{0, 200 * ms},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := client.Reconnect{Backoff: tt.backoff, Retry: tt.retry, Rand: constRand(tt.rand)}
			for i, want := range tt.want {
				var floor time.Duration
				if i < len(tt.floors) {
					floor = tt.floors[i]
				}
				if got := r.Failed(floor); got != want {
					t.Errorf("failure %d: Failed(%v) = %v; want %v", i+1, floor, got, want)
				}
				if got := r.Failures(); got != i+1 {
					t.Errorf("failure %d: Failures() = %d; want %d", i+1, got, i+1)
				}
			}
		})
	}
}

func TestReconnectConnectedStartsOver(t *testing.T) {
	t.Parallel()
	r := client.Reconnect{Backoff: client.Backoff{Initial: 100 * ms, Max: time.Second, Multiplier: 2}, Retry: 100 * ms}
	r.Failed(0)
	r.Failed(0)
	if got := r.Failed(0); got != 400*ms {
		t.Fatalf("third Failed(0) = %v; want %v", got, 400*ms)
	}
	r.Connected()
	if got := r.Failures(); got != 0 {
		t.Errorf("Failures() after Connected = %d; want 0", got)
	}
	if got := r.Ended(); got != 100*ms {
		t.Errorf("Ended() = %v; want the reconnection time %v", got, 100*ms)
	}
	if got := r.Failed(0); got != 100*ms {
		t.Errorf("Failed(0) after Connected = %v; want the reconnection time %v", got, 100*ms)
	}
	// A retry field read on the new connection applies to the next wait.
	r.Retry = 7 * ms
	r.Connected()
	if got := r.Ended(); got != 7*ms {
		t.Errorf("Ended() after retry: 7 = %v; want %v", got, 7*ms)
	}
}

func TestReconnectDoesNotOverflow(t *testing.T) {
	t.Parallel()
	r := client.Reconnect{Backoff: client.Backoff{Initial: time.Second, Max: math.MaxInt64, Multiplier: 10}, Retry: time.Second}
	prev := time.Duration(0)
	for i := range 200 {
		d := r.Failed(0)
		if d < prev {
			t.Fatalf("failure %d: Failed(0) = %v; want at least the previous wait %v", i+1, d, prev)
		}
		prev = d
	}
	if prev != math.MaxInt64 {
		t.Errorf("wait after 200 failures = %v; want the largest Duration", prev)
	}
}

func TestReconnectDefaultRand(t *testing.T) {
	t.Parallel()
	// With the real random source every wait stays within its bounds.
	b := client.DefaultBackoff()
	r := client.Reconnect{Backoff: b, Retry: client.DefaultRetry}
	for i := range 50 {
		d := r.Failed(0)
		if d < client.DefaultRetry || d > b.Max {
			t.Fatalf("failure %d: Failed(0) = %v; want within [%v, %v]", i+1, d, client.DefaultRetry, b.Max)
		}
	}
}
