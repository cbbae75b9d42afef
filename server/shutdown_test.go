package server_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// TestShutdown ends open streams cleanly so that http.Server.Shutdown can
// finish; requests that arrive meanwhile get 503 with Retry-After.
func TestShutdown(t *testing.T) {
	t.Parallel()
	b := server.NewMemoryBroker()
	t.Cleanup(func() { b.Close() })
	srv := server.New(b, server.WithLogger(quiet))
	hs := &http.Server{Handler: srv}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	base := "http://" + ln.Addr().String()

	var streams []*stream
	for _, q := range []string{"?topic=a", "?topic=a&topic=b", "?topic=b"} {
		streams = append(streams, connect(t, base+"/"+q, nil))
	}
	if _, err := server.Publish(context.Background(), b, "a", priceTick, Price{Cents: 1}); err != nil {
		t.Fatal(err)
	}
	streams[0].cents()
	streams[1].cents()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown() = %v; want nil once the streams ended", err)
	}
	for _, s := range streams {
		s.end()
	}
	if st := srv.Stats(); st.Open != 0 {
		t.Errorf("Got(Stats().Open after Shutdown) = %d; want 0", st.Open)
	}

	resp := do(t, "GET", base+"/?topic=a", nil)
	retryAfter := resp.Header.Get("Retry-After")
	if status, reason := refusal(t, resp); status != http.StatusServiceUnavailable || retryAfter != "5" || !strings.Contains(reason, "shutting down") {
		t.Errorf("Got(GET after Shutdown) = %d %q, Retry-After %q; want 503, shutting down, 5", status, reason, retryAfter)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown() = %v; want nil", err)
	}

	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("http.Server.Shutdown() = %v; want nil", err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Errorf("Serve() = %v; want ErrServerClosed", err)
	}
}

// TestShutdownOnHTTPShutdown wires Shutdown into http.Server's own, the way
// a program would: one call ends the streams and the server.
func TestShutdownOnHTTPShutdown(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil)
	h.ts.Config.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		h.srv.Shutdown(ctx)
	})
	s := connect(t, h.url("a"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := h.ts.Config.Shutdown(ctx); err != nil {
		t.Fatalf("http.Server.Shutdown() = %v; want nil", err)
	}
	s.end()
}

// staleDeadline moves the connection's write deadline into the past after
// every flush, as a stream idle for longer than the write timeout leaves it.
type staleDeadline struct{ http.ResponseWriter }

func (w staleDeadline) Flush() {
	w.ResponseWriter.(http.Flusher).Flush()
	_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(-time.Second))
}

func (w staleDeadline) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestCleanEndAfterIdle ends streams that were idle for longer than the
// write timeout: the end of the response (the last chunk, written after the
// handler returns) must still reach the client, or it sees a broken stream
// instead of a clean end.
func TestCleanEndAfterIdle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(*harness)
	}{
		{"Shutdown", func(h *harness) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			h.srv.Shutdown(ctx)
		}},
		{"DisconnectAll", func(h *harness) { h.srv.DisconnectAll() }},
		{"BrokerClosed", func(h *harness) { h.broker.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next.ServeHTTP(staleDeadline{w}, r)
				})
			})
			s := connect(t, h.url("a"), nil)
			tt.end(h)
			s.end()
		})
	}
}

// TestDisconnectAll ends every stream cleanly; clients resume from their
// Last-Event-ID with nothing lost, and the server keeps serving.
func TestDisconnectAll(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil)
	streams := []*stream{connect(t, h.url("a"), nil), connect(t, h.url("a"), nil)}
	h.publish(t, "a", 1)
	for _, s := range streams {
		if got := s.cents(); got != 1 {
			t.Fatalf("Got(event) = %d; want 1", got)
		}
	}
	h.srv.DisconnectAll()
	for _, s := range streams {
		s.end()
	}
	h.publish(t, "a", 2)
	s := connect(t, h.url("a"), http.Header{"Last-Event-Id": {streams[0].dec.LastEventID()}})
	if got := s.cents(); got != 2 {
		t.Fatalf("Got(event after resuming) = %d; want 2", got)
	}
	waitFor(t, "Stats().Open = 1", func() bool { return h.srv.Stats().Open == 1 })
}

// A subscription that ends while its stream is being written (here: the
// broker closes right after the stream's goroutine drained its queue,
// still holding the stream) ends the stream at once. The pool's worker,
// told of the end, finds the stream taken and leaves it to the holder,
// which must look again: it once looked only for frames, and the stream
// sat until its next heartbeat.
func TestEndWhileWriterBusy(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil, server.WithHeartbeat(time.Hour))
	var once sync.Once
	server.SetAfterOwnDrain(h.srv, func() { once.Do(func() { h.broker.Close() }) })
	s := connect(t, h.url("a"), nil)
	s.end()
}
