package server_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/sse"
)

// TestStalledReaderEvicted connects a client that sends its request and
// never reads its socket. Once the kernel's buffers are full, its writer
// blocks and its queue overflows: the server closes it, publishers never
// wait, and another client receives every event.
func TestStalledReaderEvicted(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil,
		server.WithQueueLimits(server.QueueLimits{Frames: 8}),
		server.WithWriteTimeout(time.Second),
	)

	stalled, err := net.Dial("tcp", h.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stalled.Close() })
	_ = stalled.(*net.TCPConn).SetReadBuffer(4 << 10) // fill up sooner; best effort
	if _, err := stalled.Write([]byte("GET /?topic=a HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// Read the response head and the hello, then never read again.
	head, err := bufio.NewReaderSize(stalled, 64).ReadString('\n')
	if err != nil || !strings.Contains(head, " 200 ") {
		t.Fatalf("stalled client: status line %q, %v; want 200", head, err)
	}
	waitFor(t, "the stalled client's stream to open", func() bool { return h.srv.Stats().Open == 1 })

	fast := connect(t, h.url("a"), nil)
	payload := strings.Repeat("x", 16<<10)
	var sent int64
	var ids []string
	publish := func() {
		t.Helper()
		start := time.Now()
		id, err := server.Publish(context.Background(), h.broker, "a", priceTick, Price{Symbol: payload, Cents: sent})
		if err != nil {
			t.Fatalf("Publish() = %v", err)
		}
		ids = append(ids, id)
		if d := time.Since(start); d > timeout {
			t.Fatalf("Publish took %v: it waited for a subscriber", d)
		}
		if got := fast.cents(); got != sent {
			t.Fatalf("Got(fast client's event) = %d; want %d", got, sent)
		}
		sent++
	}
	// Publish at the fast client's pace until the stalled one is evicted:
	// its socket buffers hold a few MB at most.
	deadline := time.Now().Add(timeout)
	for h.srv.Stats().Evicted == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Got(Stats()) = %+v after %d events of 16 KB; want Evicted 1", h.srv.Stats(), sent)
		}
		publish()
	}
	waitFor(t, "Stats().Open = 1", func() bool { return h.srv.Stats().Open == 1 })
	for range 10 {
		publish()
	}
	if st := h.srv.Stats(); st.Evicted != 1 {
		t.Errorf("Got(Stats().Evicted) = %d; want 1", st.Evicted)
	}

	// The evicted client resumes from its Last-Event-ID, as a browser
	// would, and loses nothing that is retained.
	again := connect(t, h.url("a"), http.Header{"Last-Event-Id": {ids[sent-21]}})
	for i := sent - 20; i < sent; i++ {
		if got := again.cents(); got != i {
			t.Fatalf("Got(replayed event) = %d; want %d", got, i)
		}
	}
}

// throttledConn reads at most chunk bytes per tick: a slow but live client.
// One goroutine reads it (the transport's read loop).
type throttledConn struct {
	net.Conn
	tick   <-chan time.Time
	chunk  int
	budget int
}

func (c *throttledConn) Read(p []byte) (int, error) {
	if c.budget <= 0 {
		<-c.tick
		c.budget = c.chunk
	}
	n, err := c.Conn.Read(p[:min(len(p), c.budget)])
	c.budget -= n
	return n, err
}

// TestLargeReplayToSlowClient replays more than a client can read within
// one write timeout. The client reads steadily, far faster than the
// timeout demands of any live client, so the server must not cut it: the
// write timeout bounds progress, not the size of a burst.
func TestLargeReplayToSlowClient(t *testing.T) {
	t.Parallel()
	const (
		writeTimeout = 2 * time.Second
		events       = 400 // of 16 KB: 6.4 MB, 4 s at the client's pace
	)
	b := server.NewMemoryBroker()
	t.Cleanup(func() { b.Close() })
	srv := server.New(b, server.WithLogger(quiet), server.WithWriteTimeout(writeTimeout))
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ConnState = func(c net.Conn, state http.ConnState) {
		if state == http.StateNew {
			_ = c.(*net.TCPConn).SetWriteBuffer(64 << 10) // little kernel buffer to hide in
		}
	}
	ts.Start()
	h := &harness{broker: b, srv: srv, ts: ts}
	t.Cleanup(ts.Close)
	t.Cleanup(func() { srv.DisconnectAll() })
	payload := strings.Repeat("x", 16<<10)
	first := h.publish(t, "a", -1)
	for i := range events {
		if _, err := server.Publish(context.Background(), h.broker, "a", priceTick, Price{Symbol: payload, Cents: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}

	tick := time.NewTicker(20 * time.Millisecond) // 32 KB per tick: about 1.6 MB/s
	defer tick.Stop()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		_ = c.(*net.TCPConn).SetReadBuffer(64 << 10) // little kernel buffer to hide in
		return &throttledConn{Conn: c, tick: tick.C, chunk: 32 << 10}, nil
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url("a"), nil)
	req.Header.Set("Last-Event-Id", first)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{t: t, resp: resp, dec: sse.NewDecoder(resp.Body), cancel: cancel}
	defer s.close()
	s.next() // hello
	for i := range events {
		if got := s.cents(); got != int64(i) {
			t.Fatalf("Got(replayed event) = %d; want %d", got, i)
		}
	}
}
