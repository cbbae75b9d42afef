package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// The regression tests of the reliability defects: each names the defect it
// guards against. HTTP/2 cases run over TLS, as browsers reach a server.

// TestIdleHTTP2StreamNotReset keeps an HTTP/2 stream idle for several write
// timeouts. Go's HTTP/2 server resets a stream whose write deadline passes
// even when no write is in flight, so a deadline left pending after a write
// would reset every idle stream: a deadline must bound a write in flight,
// never an idle stream.
func TestIdleHTTP2StreamNotReset(t *testing.T) {
	t.Parallel()
	const writeTimeout = 100 * time.Millisecond
	h := startH2(t, nil, nil, nil, server.WithWriteTimeout(writeTimeout), server.WithHeartbeat(time.Hour))
	s := connect(t, h.url("a"), nil)
	if s.resp.ProtoMajor != 2 {
		t.Fatalf("stream over %s; want HTTP/2", s.resp.Proto)
	}
	// What is under test is time passing with nothing written.
	time.Sleep(5 * writeTimeout)
	h.publish(t, "a", 1)
	if got := s.cents(); got != 1 {
		t.Fatalf("Got(event after idling) = %d; want 1", got)
	}
	if st := h.srv.Stats(); st.Connections != 1 {
		t.Errorf("Got(Stats().Connections) = %d; want 1 (the stream was reset and reopened)", st.Connections)
	}
}

// rawStream reads a stream's bytes line by line, for what a decoder hides:
// heartbeat comments and the fields of each event.
type rawStream struct {
	t     testing.TB
	r     *bufio.Reader
	lines chan rawLine
}

type rawLine struct {
	text string
	at   time.Time
}

func openRaw(t testing.TB, target string, header http.Header) *rawStream {
	t.Helper()
	s := open(t, target, header)
	rs := &rawStream{t: t, r: bufio.NewReader(s.resp.Body), lines: make(chan rawLine, 1024)}
	go func() {
		defer close(rs.lines)
		for {
			line, err := rs.r.ReadString('\n')
			if err != nil {
				return
			}
			rs.lines <- rawLine{text: line, at: time.Now()}
		}
	}()
	return rs
}

// next returns the next line, failing after timeout.
func (rs *rawStream) next() rawLine {
	rs.t.Helper()
	select {
	case l, ok := <-rs.lines:
		if !ok {
			rs.t.Fatal("the stream ended")
		}
		return l
	case <-time.After(timeout):
		rs.t.Fatalf("no line after %v", timeout)
	}
	panic("unreachable")
}

// block returns the lines of the next block, up to and without the blank
// line that ends it, and when that blank line arrived.
func (rs *rawStream) block() ([]string, time.Time) {
	rs.t.Helper()
	var lines []string
	for {
		l := rs.next()
		if l.text == "\n" {
			return lines, l.at
		}
		lines = append(lines, strings.TrimSuffix(l.text, "\n"))
	}
}

// heartbeat waits for the next heartbeat comment and returns when it came,
// skipping other blocks.
func (rs *rawStream) heartbeat() time.Time {
	rs.t.Helper()
	for {
		if lines, at := rs.block(); len(lines) == 1 && lines[0] == ":" {
			return at
		}
	}
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// TestHeartbeatInterval checks that heartbeats come at the configured
// interval, not at twice it: a heartbeat's own write must not count as
// activity that skips the next one, and an event must delay the next
// heartbeat by one interval from the event, not by two. Behind nginx's
// default 60 s read timeout, WithHeartbeat(40s) must keep a stream open.
func TestHeartbeatInterval(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	h := start(t, nil, nil, server.WithHeartbeat(interval))
	rs := openRaw(t, h.url("a"), nil)

	last := rs.heartbeat()
	var idle []time.Duration
	for range 5 {
		at := rs.heartbeat()
		idle = append(idle, at.Sub(last))
		last = at
	}
	if m := median(idle); m > interval*3/2 {
		t.Errorf("median gap between heartbeats of an idle stream = %v (gaps %v); want about %v", m, idle, interval)
	}

	// Right after a heartbeat, an event: the stream's next silence must
	// end one interval after the event.
	var afterEvent []time.Duration
	for i := range 3 {
		rs.heartbeat()
		h.publish(t, "a", int64(i))
		_, sent := rs.block()
		afterEvent = append(afterEvent, rs.heartbeat().Sub(sent))
	}
	if m := median(afterEvent); m > interval*3/2 {
		t.Errorf("median silence after an event = %v (%v); want about %v", m, afterEvent, interval)
	}
}

// TestDeclaredBodyNeverSent sends stream requests that declare a body they
// never send in full. net/http reads an unread body before it writes the
// response's headers, so such a request would hold its stream, and
// Shutdown, forever: the stream must start, and end, regardless.
func TestDeclaredBodyNeverSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, request string
	}{
		{"GET", "GET /?topic=a HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n"},
		{"GETChunked", "GET /?topic=a HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"},
		// The topic function reads the topics and stops; the body
		// declares more than it sends.
		{"POSTPartlyRead", "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n{\"topics\":[\"a\"]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, nil,
				server.WithMethods(http.MethodGet, http.MethodPost),
				server.WithTopics(func(r *http.Request) ([]string, error) {
					if r.Method == http.MethodGet {
						return server.QueryTopics(r)
					}
					var body struct{ Topics []string }
					err := jsonDecode(r.Body, &body)
					return body.Topics, err
				}),
			)
			conn, err := net.Dial("tcp", h.ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(timeout))
			br := bufio.NewReader(conn)
			status, err := br.ReadString('\n')
			if err != nil || !strings.Contains(status, " 200 ") {
				t.Fatalf("status line = %q, %v; want 200 at once", status, err)
			}
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("reading the hello: %v", err)
				}
				if strings.Contains(line, "ssekit.hello") {
					break
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := h.srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown() = %v; want nil", err)
			}
			// The HTTP server's own shutdown must not wait for the body
			// either.
			if err := h.ts.Config.Shutdown(ctx); err != nil {
				t.Fatalf("http.Server.Shutdown() = %v; want nil", err)
			}
		})
	}
}

// TestMemoryBrokerFreesExpired publishes on many distinct topics, never
// touched again: once the retention age has passed, their events and the
// topics themselves must be freed whatever the traffic on them.
func TestMemoryBrokerFreesExpired(t *testing.T) {
	t.Parallel()
	const (
		topics = 20_000
		age    = time.Second
	)
	b := server.NewMemoryBroker(server.WithRetention(0, age))
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	payload := Price{Symbol: strings.Repeat("x", 200)}
	for i := range topics {
		if _, err := server.Publish(ctx, b, fmt.Sprintf("topic-%d", i), priceTick, payload); err != nil {
			t.Fatal(err)
		}
	}
	// Publishing may outlast the age under the race detector: some may be
	// gone already.
	if events, n := server.MemoryRetained(b); events == 0 || events != n {
		t.Fatalf("retained right after publishing: %d events on %d topics; want one per topic", events, n)
	}
	waitFor(t, "the expired events and their topics to be freed", func() bool {
		events, n := server.MemoryRetained(b)
		return events == 0 && n == 0
	})
}

// stallConn is a client connection whose reads can be stopped: the client
// then no longer reads its socket, as a peer that hangs.
type stallConn struct {
	net.Conn
	stalled chan struct{} // closed: reads block
	done    chan struct{} // closed at cleanup: reads fail
}

func (c *stallConn) Read(p []byte) (int, error) {
	select {
	case <-c.stalled:
		<-c.done
		return 0, net.ErrClosed
	default:
	}
	return c.Conn.Read(p)
}

// smallBuffers makes accepted connections' send buffers small, so that a
// peer that stops reading blocks the server's writes after kilobytes, not
// megabytes.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// TestHTTP2StalledPeerEvicted connects an HTTP/2 client that stops reading
// its socket, on an http.Server configured by ConfigureHTTP: its stream is
// evicted while another client's stream goes on, and Shutdown finishes at
// once. Without http.Server.HTTP2.WriteByteTimeout the stream's reset would
// queue behind the connection's blocked write, forever.
func TestHTTP2StalledPeerEvicted(t *testing.T) {
	t.Parallel()
	b := server.NewMemoryBroker()
	t.Cleanup(func() { b.Close() })
	srv := server.New(b, server.WithLogger(quiet),
		server.WithQueueLimits(server.QueueLimits{Frames: 8}),
		server.WithWriteTimeout(time.Second))
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener = smallBuffers{ts.Listener}
	ts.EnableHTTP2 = true
	srv.ConfigureHTTP(ts.Config)
	ts.Config.HTTP2.WriteByteTimeout = time.Second // quicker than the default
	ts.StartTLS()
	t.Cleanup(ts.Close)
	clients.Store(ts.URL, ts.Client())
	t.Cleanup(func() { clients.Delete(ts.URL) })

	// The stalling client: its own transport, over a connection whose
	// reads can be stopped.
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	sc := &stallConn{stalled: make(chan struct{}), done: done}
	var once sync.Once
	tr := &http.Transport{
		TLSClientConfig:   ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone(),
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			_ = c.(*net.TCPConn).SetReadBuffer(8 << 10)
			once.Do(func() { sc.Conn = c })
			return sc, nil
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/?topic=a", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("stalling client over %s; want HTTP/2", resp.Proto)
	}
	close(sc.stalled)

	healthy := connect(t, ts.URL+"/?topic=a", nil)
	waitFor(t, "two open streams", func() bool { return srv.Stats().Open == 2 })
	payload := Price{Symbol: strings.Repeat("x", 16<<10)}
	deadline := time.Now().Add(timeout)
	for i := int64(0); srv.Stats().Evicted == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("Stats() = %+v after %d events of 16 KB; want the stalled stream evicted", srv.Stats(), i)
		}
		payload.Cents = i
		if _, err := server.Publish(context.Background(), b, "a", priceTick, payload); err != nil {
			t.Fatal(err)
		}
		if got := healthy.cents(); got != i {
			t.Fatalf("healthy client got %d; want %d", got, i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown() = %v; want nil", err)
	}
	if err := ts.Config.Shutdown(ctx); err != nil {
		t.Fatalf("http.Server.Shutdown() = %v; want nil", err)
	}
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// A stream that ends leaves its HTTP/1.1 connection fit for the next
// request when a middleware wrapped the request's empty body. The stream
// drops a declared body nobody reads by putting the connection's read
// deadline in the past; taken for a declared body, a wrapped empty one
// failed net/http's background read of the connection, which cancels the
// context of every later request on it (the browsertest fixture's
// POST /ssekit/publish after a DisconnectAll answered "context canceled").
func TestConnectionReusableAfterStream(t *testing.T) {
	t.Parallel()
	// A logging or tracing middleware that wraps every body, an empty
	// one included; and GET /probe, which answers whether its request's
	// context is alive (net/http derives it from its connection's).
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = io.NopCloser(r.Body)
			if r.URL.Path != "/probe" {
				next.ServeHTTP(w, r)
				return
			}
			if err := r.Context().Err(); err != nil {
				http.Error(w, "request context: "+err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		})
	}
	h := start(t, nil, wrap)
	conn, err := net.Dial("tcp", h.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(conn)
	// The failure raced net/http's own end of the request: it showed in
	// about one cycle in ten.
	for i := range 50 {
		if _, err := io.WriteString(conn, "GET /?topic=a HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("cycle %d: the stream: %v, %v; want 200", i, resp, err)
		}
		d := sse.NewDecoder(resp.Body)
		if ev, err := d.Next(); err != nil || ev.Type != schema.HelloEvent {
			t.Fatalf("cycle %d: first event = %+v, %v; want the hello", i, ev, err)
		}
		h.srv.DisconnectAll()
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("cycle %d: after DisconnectAll: %v; want the stream's clean end", i, err)
		}
		if _, err := io.WriteString(conn, "GET /probe HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		next, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("cycle %d: the next request on the kept-alive connection: %v", i, err)
		}
		b, _ := io.ReadAll(next.Body)
		if next.StatusCode != http.StatusOK {
			t.Fatalf("cycle %d: the next request on the kept-alive connection: %s %q; want 200 with a live context", i, next.Status, b)
		}
	}
}
