package faulttest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// proxyReadTimeout is the read timeout of the suite's reverse proxies: a
// stream silent for longer is cut by the proxy.
const proxyReadTimeout = 2 * time.Second

// proxyFront is a reverse proxy in front of an instance; url gives the
// address of the stream endpoint through it for clients of protocol p.
type proxyFront struct {
	name  string
	start func(t testing.TB, upstream string) (url func(p proto) string)
}

var proxyFronts = []proxyFront{
	{"ReverseProxy", startReverseProxy},
	{"nginx", func(t testing.TB, upstream string) func(p proto) string {
		f := startNginx(t, upstream, proxyReadTimeout)
		return func(p proto) string { return f.url(p, "/events") }
	}},
}

func (f *nginxFront) url(p proto, path string) string {
	if p.h2 {
		return "https://" + f.http2 + path
	}
	return "http://" + f.http1 + path
}

// startReverseProxy serves an httputil.ReverseProxy to upstream on two
// loopback ports, HTTP/1.1 and HTTP/2 with TLS. Its transport gives up a
// response from upstream that has been silent for proxyReadTimeout, as
// nginx's proxy_read_timeout does (ReverseProxy has no such timeout of its
// own: its connections to upstream get an idle read deadline).
func startReverseProxy(t testing.TB, upstream string) func(p proto) string {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: upstream}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idleReadConn{Conn: c, idle: proxyReadTimeout}, nil
		}},
		ErrorLog: log.New(io.Discard, "", 0), // the cut streams of NoHeartbeats
	}
	addrs := map[bool]string{}
	for _, h2 := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: rp, ErrorLog: log.New(io.Discard, "", 0)}
		if h2 {
			hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert().cert}}
			go hs.ServeTLS(ln, "", "")
		} else {
			go hs.Serve(ln)
		}
		t.Cleanup(func() { hs.Close() })
		addrs[h2] = ln.Addr().String()
	}
	return func(p proto) string { return schemeOf(p) + addrs[p.h2] + "/events" }
}

// idleReadConn fails a read that has waited idle longer than idle.
type idleReadConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleReadConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

// TestReverseProxies streams through httputil.ReverseProxy and nginx, for
// clients of HTTP/1.1 and of HTTP/2 (the upstream speaks HTTP/1.1, as
// behind nginx). nginx is configured as the README's Deploying section
// says.
//
// Heartbeats: what must hold through each proxy: the first event arrives at
// once (the proxy does not buffer it: it reaches the client before the
// server has written another byte); heartbeats, more frequent than the
// proxy's read timeout, keep a stream that is idle for longer than that
// timeout open (the next event comes on the same stream); and a stream
// the server ends (DisconnectAll) resumes through the proxy with exactly
// what the client missed, its Last-Event-ID reaching the server.
//
// NoHeartbeats is the control: with heartbeats slower than the read
// timeout, the proxy cuts the idle stream, so the test above is testing
// something.
func TestReverseProxies(t *testing.T) {
	t.Parallel()
	var fronts []subtest
	for _, fr := range proxyFronts {
		fronts = append(fronts, subtest{fr.name, func(t *testing.T) {
			forEachProto(t, func(t *testing.T, p proto) {
				concurrently(t,
					subtest{"Heartbeats", func(t *testing.T) { proxiedHeartbeats(t, fr, p) }},
					subtest{"NoHeartbeats", func(t *testing.T) { proxiedSilence(t, fr, p) }},
				)
			})
		}})
	}
	concurrently(t, fronts...)
}

func proxiedHeartbeats(t testing.TB, fr proxyFront, p proto) {
	t.Helper()
	// Well below the read timeout, and well above the time an event takes
	// through a proxy on a busy machine (the first-event check asks that
	// no heartbeat come between the event's write and its arrival).
	const heartbeat = 700 * time.Millisecond
	b := memoryBroker(t)
	in := serve(t, http1, b, serveConfig{opts: []server.Option{server.WithHeartbeat(heartbeat)}})
	frontURL := fr.start(t, in.addr)
	c, _ := newClient(t, p, clientConfig{})
	l := newLedger(t, b)
	s := newSub(t, "client", []string{"a"}, endpoint{url: frontURL(p), client: c})
	st, err := s.open(context.Background())
	if err != nil {
		t.Fatalf("through %s: %v", fr.name, err)
	}
	defer st.close()
	wantProto(t, st, p)

	// The first event, at once.
	b0 := in.srv.Stats().Bytes
	first := l.publish("a", 0)
	waitFor(t, "the server to write the event", func() bool { return in.srv.Stats().Bytes > b0 })
	b1 := in.srv.Stats().Bytes
	r, err := s.read(st)
	if err != nil {
		t.Fatalf("the first event did not come through %s: %v", fr.name, err)
	}
	if b2 := in.srv.Stats().Bytes; r.seq != first.seq || b2 != b1 {
		t.Fatalf("through %s, seq %d reached the client after the server wrote %d more bytes; want seq %d and none (the proxy must not buffer)", fr.name, r.seq, b2-b1, first.seq)
	}

	// Idle for longer than the proxy's read timeout: the heartbeats keep
	// the stream open.
	next := make(chan error, 1)
	go func() {
		_, err := s.read(st)
		next <- err
	}()
	// What is under test is time passing with no event.
	time.Sleep(proxyReadTimeout * 5 / 2)
	idle := l.publish("a", 0)
	select {
	case err := <-next:
		if err != nil {
			t.Fatalf("through %s, the stream idle for %v (heartbeat %v, proxy read timeout %v) ended: %v", fr.name, proxyReadTimeout*5/2, heartbeat, proxyReadTimeout, err)
		}
	case <-time.After(timeout):
		t.Fatalf("the event after idling did not come through %s", fr.name)
	}
	if n := in.srv.Stats().Connections; n != 1 || s.opened() != 1 {
		t.Fatalf("through %s: %d streams on the server, %d opened by the client; want 1 and 1", fr.name, n, s.opened())
	}

	// The server ends the stream; the client resumes through the proxy.
	in.srv.DisconnectAll()
	for range 10 {
		l.publish("a", 0)
	}
	s.follow(s.caughtUp(l), nil)
	sum := s.check(l, 0)
	reqs := in.reqs.find("a")
	if len(reqs) < 2 {
		t.Fatalf("through %s: %d requests reached the server; want the resumption too", fr.name, len(reqs))
	}
	if got, want := reqs[1].lastEventID, (server.EventID{Epoch: b.Epoch(), Seq: idle.seq}).String(); got != want {
		t.Errorf("through %s, the resuming request reached the server with Last-Event-ID %q; want %q", fr.name, got, want)
	}
	t.Logf("%s, %s client: %+v", fr.name, p.name, sum)
}

func proxiedSilence(t testing.TB, fr proxyFront, p proto) {
	t.Helper()
	b := memoryBroker(t)
	in := serve(t, http1, b, serveConfig{opts: []server.Option{server.WithHeartbeat(time.Hour)}})
	frontURL := fr.start(t, in.addr)
	c, _ := newClient(t, p, clientConfig{})
	s := newSub(t, "client", []string{"a"}, endpoint{url: frontURL(p), client: c})
	st, err := s.open(context.Background())
	if err != nil {
		t.Fatalf("through %s: %v", fr.name, err)
	}
	defer st.close()
	st.silence.Store(int64(timeout)) // wait for the proxy, not for the watchdog
	began := time.Now()
	_, err = s.read(st)
	cut := time.Since(began)
	switch {
	case err == nil:
		t.Fatalf("through %s, an event on a stream nothing was published to", fr.name)
	case errors.Is(err, errSilent):
		t.Fatalf("through %s, the silent stream was not cut after %v; want the proxy's read timeout (%v) to cut it", fr.name, cut, proxyReadTimeout)
	}
	t.Logf("%s, %s client: without heartbeats the proxy cut the stream after %v (read timeout %v): %v", fr.name, p.name, cut, proxyReadTimeout, err)
}
