package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// timeout bounds every wait of these tests. It is generous on purpose: the
// tests run with -race on small, busy machines, and no test asserts a time.
const timeout = 30 * time.Second

// Price is the payload of the typed event the tests publish.
type Price struct {
	Symbol string `json:"symbol"`
	Cents  int64  `json:"cents"`
}

var priceTick = schema.Define[Price]("price.tick")

// quiet is the logger of every test server: refusals and evictions are
// expected here and would only clutter the output.
var quiet = slog.New(slog.DiscardHandler)

// harness is a Server on a real HTTP server.
type harness struct {
	broker *server.MemoryBroker
	srv    *server.Server
	ts     *httptest.Server
}

// start serves a new Server over a memory broker on httptest. wrap, when
// not nil, wraps the handler (middleware, a recording ResponseWriter). At
// cleanup, the Server shuts down before the HTTP server closes, so that
// open streams never hold up httptest.Server.Close.
func start(t testing.TB, b *server.MemoryBroker, wrap func(http.Handler) http.Handler, opts ...server.Option) *harness {
	t.Helper()
	return startWith(t, nil, b, wrap, opts...)
}

// startH2 is start over HTTP/2 with TLS, as browsers reach a server in
// production. configure, when not nil, sets up the http.Server first (its
// HTTP2 field, say). open, connect and do reach it with a client that
// trusts its certificate and speaks HTTP/2.
func startH2(t testing.TB, configure func(*http.Server), b *server.MemoryBroker, wrap func(http.Handler) http.Handler, opts ...server.Option) *harness {
	t.Helper()
	return startWith(t, func(ts *httptest.Server) {
		ts.EnableHTTP2 = true
		if configure != nil {
			configure(ts.Config)
		}
		ts.StartTLS()
		clients.Store(ts.URL, ts.Client())
		t.Cleanup(func() { clients.Delete(ts.URL) })
	}, b, wrap, opts...)
}

// clients holds the client of each TLS test server, by its URL.
var clients sync.Map

// client returns the client for target: the TLS test server's when it is
// one, else http.DefaultClient.
func client(target string) *http.Client {
	var found *http.Client
	clients.Range(func(k, v any) bool {
		if strings.HasPrefix(target, k.(string)+"/") {
			found = v.(*http.Client)
			return false
		}
		return true
	})
	if found != nil {
		return found
	}
	return http.DefaultClient
}

// startWith starts the harness; run, when not nil, starts the unstarted
// test server (with TLS, say) instead of ts.Start.
func startWith(t testing.TB, run func(*httptest.Server), b *server.MemoryBroker, wrap func(http.Handler) http.Handler, opts ...server.Option) *harness {
	t.Helper()
	if b == nil {
		b = server.NewMemoryBroker()
	}
	srv := server.New(b, append([]server.Option{server.WithLogger(quiet)}, opts...)...)
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewUnstartedServer(h)
	if run != nil {
		run(ts)
	} else {
		ts.Start()
	}
	t.Cleanup(func() { b.Close() })
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown at cleanup = %v", err)
		}
	})
	return &harness{broker: b, srv: srv, ts: ts}
}

// url returns the address of a stream of topics.
func (h *harness) url(topics ...string) string {
	q := url.Values{"topic": topics}
	return h.ts.URL + "/?" + q.Encode()
}

// publish publishes a price.tick event with the given cents on topic and
// returns its ID.
func (h *harness) publish(t testing.TB, topic string, cents int64) string {
	t.Helper()
	id, err := server.Publish(context.Background(), h.broker, topic, priceTick, Price{Symbol: topic, Cents: cents})
	if err != nil {
		t.Fatalf("Publish(%q, %d) = %v", topic, cents, err)
	}
	return id
}

// do sends a request that is expected to be refused or to end; the caller
// reads and closes the body.
func do(t testing.TB, method, target string, header http.Header) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client(target).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return resp
}

// refusal reads a refused request's status and plain-text reason.
func refusal(t testing.TB, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the %d response: %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK && !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("refusal %d has Content-Type %q; want text/plain", resp.StatusCode, ct)
	}
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// stream is a client reading an event stream with the decoder the wasm
// client uses.
type stream struct {
	t      testing.TB
	resp   *http.Response
	dec    *sse.Decoder
	cancel context.CancelFunc
}

// open opens a stream and fails unless the server answers 200. The stream
// closes at cleanup; its reads fail after timeout.
func open(t testing.TB, target string, header http.Header) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client(target).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: status %d (%s); want 200", target, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	s := &stream{t: t, resp: resp, dec: sse.NewDecoder(resp.Body), cancel: cancel}
	t.Cleanup(s.close)
	return s
}

// connect opens a stream and reads its hello event, after which the
// server's subscription exists: whatever is published next reaches it.
func connect(t testing.TB, target string, header http.Header) *stream {
	t.Helper()
	s := open(t, target, header)
	if ev := s.next(); ev.Type != schema.HelloEvent {
		t.Fatalf("first event = %+v; want %s", ev, schema.HelloEvent)
	}
	return s
}

// next returns the stream's next event, failing the test on an error.
func (s *stream) next() sse.Event {
	s.t.Helper()
	ev, err := s.dec.Next()
	if err != nil {
		s.t.Fatalf("Next() = %v; want an event", err)
	}
	return ev
}

// cents returns the payload of the next event, which must be a price.tick.
func (s *stream) cents() int64 {
	s.t.Helper()
	ev := s.next()
	if ev.Type != priceTick.Name() {
		s.t.Fatalf("Next() = %+v; want a %s event", ev, priceTick.Name())
	}
	p, err := priceTick.Decode([]byte(ev.Data))
	if err != nil {
		s.t.Fatalf("Decode(%q) = %v", ev.Data, err)
	}
	return p.Cents
}

// end checks that the server ended the stream cleanly: the decoder sees
// io.EOF, which only a complete chunked response gives.
func (s *stream) end() {
	s.t.Helper()
	if ev, err := s.dec.Next(); !errors.Is(err, io.EOF) {
		s.t.Fatalf("Next() = %+v, %v; want io.EOF (a clean end of the response)", ev, err)
	}
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// reset decodes a reset event's reason.
func reset(t testing.TB, ev sse.Event) string {
	t.Helper()
	if ev.Type != schema.ResetEvent {
		t.Fatalf("event = %+v; want %s", ev, schema.ResetEvent)
	}
	var r schema.Reset
	if err := json.Unmarshal([]byte(ev.Data), &r); err != nil {
		t.Fatalf("reset data %q: %v", ev.Data, err)
	}
	return r.Reason
}

// waitFor polls cond until it holds, failing after timeout with what.
// Polling is for state with no channel to wait on, such as counters.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
