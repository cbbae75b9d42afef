package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// remoteAddr lets a test choose the client address the server sees, as a
// proxy-aware middleware such as chi's RealIP would.
func remoteAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("X-Test-Remote-Addr"); a != "" {
			r.RemoteAddr = a
		}
		next.ServeHTTP(w, r)
	})
}

func from(addr string) http.Header { return http.Header{"X-Test-Remote-Addr": {addr}} }

// TestMaxConnections fills the total and per-IP caps: past them a request
// gets 503 or 429 with Retry-After, and a closed stream frees its slot.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		total, perIP int
		open         []string // addresses of the streams already open
		next         string   // address of the next request
		status       int
		reason       string
	}{
		{"UnderTotal", 3, 0, []string{"10.0.0.1:1", "10.0.0.2:1"}, "10.0.0.3:1", 200, ""},
		{"Total", 2, 0, []string{"10.0.0.1:1", "10.0.0.2:1"}, "10.0.0.3:1", 503, "too many connections"},
		{"PerIP", 0, 2, []string{"10.0.0.1:1", "10.0.0.1:2"}, "10.0.0.1:3", 429, "too many connections from 10.0.0.1"},
		{"PerIPOtherIP", 0, 2, []string{"10.0.0.1:1", "10.0.0.1:2"}, "10.0.0.2:1", 200, ""},
		{"PerIPv6", 0, 1, []string{"[2001:db8::1]:1"}, "[2001:db8::1]:2", 429, "too many connections from 2001:db8::1"},
		{"TotalBeforePerIP", 2, 1, []string{"10.0.0.1:1", "10.0.0.2:1"}, "10.0.0.1:2", 503, "too many connections"},
		{"NoCaps", 0, 0, []string{"10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3"}, "10.0.0.1:4", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, remoteAddr, server.WithMaxConnections(tt.total, tt.perIP))
			var streams []*stream
			for _, a := range tt.open {
				streams = append(streams, connect(t, h.url("a"), from(a)))
			}
			if tt.status == http.StatusOK {
				connect(t, h.url("a"), from(tt.next))
				return
			}
			resp := do(t, "GET", h.url("a"), from(tt.next))
			retryAfter := resp.Header.Get("Retry-After")
			status, reason := refusal(t, resp)
			if status != tt.status || !strings.Contains(reason, tt.reason) || retryAfter != "5" {
				t.Fatalf("Got(GET from %s) = %d %q, Retry-After %q; want %d with %q, 5", tt.next, status, reason, retryAfter, tt.status, tt.reason)
			}
			// Closed streams free their slots.
			for _, s := range streams {
				s.close()
			}
			waitFor(t, "the closed streams' slots to be freed", func() bool { return h.srv.Stats().Open == 0 })
			connect(t, h.url("a"), from(tt.next))
		})
	}
}

// TestRetryAfter rounds WithRetryAfter up to whole seconds.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		after time.Duration
		want  string
	}{
		{1500 * time.Millisecond, "2"},
		{time.Millisecond, "1"},
		{time.Minute, "60"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, nil, server.WithMaxConnections(1, 0), server.WithRetryAfter(tt.after))
			connect(t, h.url("a"), nil)
			resp := do(t, "GET", h.url("a"), nil)
			got := resp.Header.Get("Retry-After")
			refusal(t, resp)
			if got != tt.want {
				t.Errorf("Got(Retry-After for %v) = %q; want %q", tt.after, got, tt.want)
			}
		})
	}
}
