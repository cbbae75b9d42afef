package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ssekit/ssekit/server"
)

// records is a slog.Handler that keeps what is logged.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// at returns the messages logged at level or above, with their attributes.
func (r *records) at(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.list {
		if rec.Level >= level {
			s := rec.Message
			rec.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
			out = append(out, s)
		}
	}
	return out
}

// flushOnly hides everything of the ResponseWriter but Flush: a middleware
// wrapper without Unwrap.
type flushOnly struct{ http.ResponseWriter }

func (w flushOnly) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// bare hides everything of the ResponseWriter, Flush included.
type bare struct{ http.ResponseWriter }

// TestWrapperWithoutUnwrap serves streams through a middleware whose
// ResponseWriter hides the write deadlines: streams still work, and the
// server says once, loudly, that slow clients cannot be evicted by time.
func TestWrapperWithoutUnwrap(t *testing.T) {
	t.Parallel()
	rec := &records{}
	h := start(t, nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(flushOnly{w}, r) })
	}, server.WithLogger(slog.New(rec)))
	for i := range 3 {
		s := connect(t, h.url("a"), nil)
		h.publish(t, "a", int64(i))
		if got := s.cents(); got != int64(i) {
			t.Fatalf("event through the wrapper = %d; want %d", got, i)
		}
		s.close()
	}
	var warned []string
	for _, m := range rec.at(slog.LevelWarn) {
		if strings.Contains(m, "Unwrap") {
			warned = append(warned, m)
		}
	}
	if len(warned) != 1 {
		t.Fatalf("warnings naming Unwrap after 3 streams: %q; want exactly one", warned)
	}
}

// TestWrapperWithoutFlush refuses a stream whose ResponseWriter cannot
// flush: without it, the client would get the hello only when the response
// ends, and reconnect forever.
func TestWrapperWithoutFlush(t *testing.T) {
	t.Parallel()
	h := start(t, nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(bare{w}, r) })
	})
	status, reason := refusal(t, do(t, "GET", h.url("a"), nil))
	if status != http.StatusInternalServerError || !strings.Contains(reason, "Flush") {
		t.Fatalf("Got(stream through a wrapper without Flush) = %d %q; want 500 naming Flush", status, reason)
	}
}

// TestDisconnectsAreNotWarnings has clients leave in the middle of a
// stream: an ordinary disconnect is the client's doing, and must not reach
// the log as a warning (clients would control the log's volume).
func TestDisconnectsAreNotWarnings(t *testing.T) {
	t.Parallel()
	rec := &records{}
	h := start(t, nil, nil, server.WithLogger(slog.New(rec)))
	for i := range 20 {
		s := connect(t, h.url("a"), nil)
		h.publish(t, "a", int64(i))
		s.close()
		// Events published after the client left make its writer fail.
		h.publish(t, "a", int64(i))
		waitFor(t, "the stream to close", func() bool { return h.srv.Stats().Open == 0 })
	}
	if warned := rec.at(slog.LevelWarn); len(warned) > 0 {
		t.Fatalf("warnings after 20 ordinary disconnects: %q", warned)
	}
}

// failingBroker is a memory broker whose Subscribe fails with an error that
// holds internal detail.
type failingBroker struct {
	*server.MemoryBroker
	err error
}

func (b failingBroker) Subscribe(context.Context, server.SubscribeRequest) (server.Subscription, error) {
	return nil, b.err
}

// TestBrokerErrorNotShown checks that a broker's error is logged with its
// detail and answered with a plain, generic reason: 500 for a failure, 503
// with Retry-After for a closed broker.
func TestBrokerErrorNotShown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		err    error
		status int
	}{
		{"Failure", errors.New("nats: dial tcp 10.1.2.3:4222: connection refused"), http.StatusInternalServerError},
		{"Closed", fmt.Errorf("draining 10.1.2.3: %w", server.ErrBrokerClosed), http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &records{}
			b := failingBroker{server.NewMemoryBroker(), tt.err}
			t.Cleanup(func() { b.Close() })
			srv := server.New(b, server.WithLogger(slog.New(rec)))
			req := httptest.NewRequest(http.MethodGet, "/?topic=a", nil)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != tt.status || strings.Contains(w.Body.String(), "10.1.2.3") {
				t.Fatalf("Got(response) = %d %q; want %d without the broker's detail", w.Code, w.Body.String(), tt.status)
			}
			if tt.status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
			if tt.status == http.StatusInternalServerError && !strings.Contains(strings.Join(rec.at(slog.LevelWarn), "\n"), "10.1.2.3") {
				t.Errorf("the log lacks the broker's error: %q", rec.at(slog.LevelWarn))
			}
		})
	}
}
