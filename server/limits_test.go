package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
		name             string
		total, perClient int
		open             []string // addresses of the streams already open
		next             string   // address of the next request
		status           int
		reason           string
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
			h := start(t, nil, remoteAddr, server.WithMaxConnections(tt.total, tt.perClient))
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

// TestBehindProxyDefaults puts 300 users behind one httputil.ReverseProxy
// in front of a Server with the default caps: every user gets a stream,
// though they all have the proxy's address. A client connecting directly
// still cannot take the whole budget: it is refused at DefaultMaxPerClient
// while another client gets in.
func TestBehindProxyDefaults(t *testing.T) {
	t.Parallel()
	h := start(t, nil, remoteAddr)
	target, _ := url.Parse(h.ts.URL)
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(proxy.Close)
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: -1}
	t.Cleanup(tr.CloseIdleConnections)
	var streams []*http.Response
	t.Cleanup(func() {
		for _, r := range streams {
			r.Body.Close()
		}
	})
	openN := func(base string, n int, wantStatus int) {
		t.Helper()
		for i := range n {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			t.Cleanup(cancel)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/?topic=a", nil)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
			if resp.StatusCode != wantStatus {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Fatalf("stream %d of %d: status %d (%s); want %d", i+1, n, resp.StatusCode, strings.TrimSpace(string(body)), wantStatus)
			}
			streams = append(streams, resp)
		}
	}
	openN(proxy.URL, 300, http.StatusOK)
	waitFor(t, "300 open streams", func() bool { return h.srv.Stats().Open == 300 })

	// The proxy's 300 count against the same address as a direct client
	// on loopback: fill the rest of its share, then one more.
	openN(h.ts.URL, server.DefaultMaxPerClient-300, http.StatusOK)
	resp := do(t, "GET", h.url("a"), nil)
	if status, reason := refusal(t, resp); status != http.StatusTooManyRequests {
		t.Fatalf("stream %d from one client: %d %q; want 429", server.DefaultMaxPerClient+1, status, reason)
	}
	if st := h.srv.Stats(); st.Open != server.DefaultMaxPerClient || st.Open >= server.DefaultMaxConnections {
		t.Fatalf("Stats().Open = %d; want %d, below the total %d", st.Open, server.DefaultMaxPerClient, server.DefaultMaxConnections)
	}
	connect(t, h.url("a"), from("10.0.0.9:1")) // another client is not refused
}

// TestForwardedClient caps streams per user behind a trusted proxy, and
// ignores X-Forwarded-For from anyone else, who could forge it.
func TestForwardedClient(t *testing.T) {
	t.Parallel()
	fc := server.ForwardedClient("10.0.0.0/8", "192.0.2.1")
	tests := []struct {
		peer, xff, want string
	}{
		{"10.1.2.3:5", "203.0.113.7", "203.0.113.7"},
		{"10.1.2.3:5", "198.51.100.1, 203.0.113.7", "203.0.113.7"}, // the nearest untrusted hop
		{"10.1.2.3:5", "203.0.113.7, 192.0.2.1", "203.0.113.7"},    // through two trusted proxies
		{"10.1.2.3:5", "", "10.1.2.3"},                             // no header: the proxy itself
		{"198.51.100.9:5", "203.0.113.7", "198.51.100.9"},          // untrusted peer: header ignored
		{"[::ffff:10.0.0.1]:5", "2001:db8::1", "2001:db8::1"},      // IPv4-mapped peer
		{"10.1.2.3:5", "garbage, 203.0.113.7", "203.0.113.7"},      //
		{"10.1.2.3:5", "203.0.113.7, garbage", "garbage"},          // what the nearest proxy wrote
		{"192.0.2.1:5", "10.9.9.9", "192.0.2.1"},                   // all hops trusted
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := fc(r); got != tt.want {
			t.Errorf("ForwardedClient(peer %s, X-Forwarded-For %q) = %q; want %q", tt.peer, tt.xff, got, tt.want)
		}
	}

	h := start(t, nil, remoteAddr, server.WithMaxConnections(0, 1), server.WithClient(fc))
	viaProxy := func(user string) http.Header {
		return http.Header{"X-Test-Remote-Addr": {"10.0.0.1:1"}, "X-Forwarded-For": {user}}
	}
	connect(t, h.url("a"), viaProxy("203.0.113.1"))
	connect(t, h.url("a"), viaProxy("203.0.113.2")) // another user behind the same proxy
	if status, _ := refusal(t, do(t, "GET", h.url("a"), viaProxy("203.0.113.1"))); status != http.StatusTooManyRequests {
		t.Fatalf("a user's second stream = %d; want 429", status)
	}
	// A direct client forging the header is still itself.
	forged := http.Header{"X-Test-Remote-Addr": {"198.51.100.9:1"}, "X-Forwarded-For": {"203.0.113.3"}}
	connect(t, h.url("a"), forged)
	forged.Set("X-Forwarded-For", "203.0.113.4")
	if status, _ := refusal(t, do(t, "GET", h.url("a"), forged)); status != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For got a second stream: %d; want 429", status)
	}
}
