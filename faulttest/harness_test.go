package faulttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// timeout bounds every wait of the suite. It is generous on purpose: the
// tests run with -race on small, busy machines, and no test asserts a time
// shorter than what it measures.
const timeout = 60 * time.Second

// proto is how clients reach a server: HTTP/1.1 in the clear, or HTTP/2
// over TLS, as browsers reach a server in production.
type proto struct {
	name string
	h2   bool
}

var (
	http1  = proto{"HTTP1", false}
	http2  = proto{"HTTP2", true}
	protos = []proto{http1, http2}
)

// quiet is the logger of every server: evictions and refusals are expected
// here.
var quiet = slog.New(slog.DiscardHandler)

// instance is one ssekit server instance: a server.Server mounted on
// /events of an http.Server that ConfigureHTTP prepared, listening on a
// loopback port.
type instance struct {
	tb       testing.TB
	proto    proto
	broker   server.Broker
	srv      *server.Server
	hs       *http.Server
	ln       net.Listener
	addr     string
	accepted atomic.Int64 // TCP connections accepted
	reqs     requestLog
	raw      *rawListener
	killed   atomic.Bool
	cfg      serveConfig
	once     sync.Once
}

// requestLog records every request of an instance's stream endpoint: when
// it began and ended, its topics and its Last-Event-ID, so that a test can
// tell what became of one stream on the server's side.
type requestLog struct {
	mu   sync.Mutex
	reqs []*request
}

type request struct {
	topics      []string
	lastEventID string
	began       time.Time
	ended       chan struct{}
	endedAt     time.Time // set before ended is closed
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := &request{topics: r.URL.Query()["topic"], lastEventID: r.Header.Get("Last-Event-ID"), began: time.Now(), ended: make(chan struct{})}
		l.mu.Lock()
		l.reqs = append(l.reqs, rq)
		l.mu.Unlock()
		defer func() {
			rq.endedAt = time.Now()
			close(rq.ended)
		}()
		h.ServeHTTP(w, r)
	})
}

// find returns the requests whose topics include topic, oldest first.
func (l *requestLog) find(topic string) []*request {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*request
	for _, r := range l.reqs {
		if slices.Contains(r.topics, topic) {
			out = append(out, r)
		}
	}
	return out
}

// open reports whether the request is still being served.
func (r *request) open() bool {
	select {
	case <-r.ended:
		return false
	default:
		return true
	}
}

// serveConfig is what a test may change about an instance.
type serveConfig struct {
	opts []server.Option
	// http, when not nil, changes the http.Server after ConfigureHTTP.
	http func(*http.Server)
	// wrap, when not nil, wraps the handler of /events.
	wrap func(http.Handler) http.Handler
	// addr is the address to listen on; default 127.0.0.1:0.
	addr string
	// sendBuffer, when positive, is the SO_SNDBUF of accepted connections:
	// a peer that stops reading then blocks the server after kilobytes,
	// not megabytes.
	sendBuffer int
	// unlogged turns the request log off (the soak's requests would
	// grow it without end).
	unlogged bool
}

// serve starts an instance of the given protocol on broker, which the
// caller owns. At cleanup the http.Server shuts down, which ends the
// streams first (ConfigureHTTP), then closes.
func serve(tb testing.TB, p proto, broker server.Broker, cfg serveConfig) *instance {
	tb.Helper()
	opts := append([]server.Option{server.WithLogger(quiet)}, cfg.opts...)
	in := &instance{tb: tb, proto: p, broker: broker, srv: server.New(broker, opts...), cfg: cfg}
	var h http.Handler = in.srv
	if cfg.wrap != nil {
		h = cfg.wrap(h)
	}
	mux := http.NewServeMux()
	if !cfg.unlogged {
		h = in.reqs.wrap(h)
	}
	mux.Handle("/events", h)
	in.hs = &http.Server{
		Handler: mux,
		// TLS handshakes cut by the proxies, and the like, are expected.
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				in.accepted.Add(1)
			}
		},
	}
	in.srv.ConfigureHTTP(in.hs)
	if cfg.http != nil {
		cfg.http(in.hs)
	}
	addr := cfg.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := listenRetry(addr)
	if err != nil {
		tb.Fatalf("listen %s: %v", addr, err)
	}
	ln = &rawListener{Listener: ln, sendBuffer: cfg.sendBuffer}
	in.raw = ln.(*rawListener)
	in.ln, in.addr = ln, ln.Addr().String()
	go func() {
		var err error
		if p.h2 {
			in.hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert().cert}}
			err = in.hs.ServeTLS(ln, "", "")
		} else {
			err = in.hs.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !in.killed.Load() {
			tb.Errorf("serve %s: %v", in.addr, err)
		}
	}()
	tb.Cleanup(in.stop)
	return in
}

// listenRetry listens on addr. A fixed address (an instance restarted on
// its old port) may still be held for a moment by the closed listener.
func listenRetry(addr string) (net.Listener, error) {
	deadline := time.Now().Add(timeout)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(20 * time.Millisecond) // no event says a port is free
	}
}

// shutdown shuts the instance down cleanly with http.Server.Shutdown,
// which ends its streams first (ConfigureHTTP), then closes what is left.
// Only its first call, or kill, stops the instance; later ones return nil.
func (in *instance) shutdown(ctx context.Context) error {
	var err error
	in.once.Do(func() {
		err = in.hs.Shutdown(ctx)
		in.hs.Close()
	})
	return err
}

// stop shuts the instance down at cleanup.
func (in *instance) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := in.shutdown(ctx); err != nil {
		in.tb.Errorf("http.Server.Shutdown(%s) = %v", in.addr, err)
	}
}

// kill stops the instance abruptly, as a crashed process: its listener and
// every connection close at once, without ending any stream cleanly. The
// TCP connections close under TLS, as a process's do when it dies: no TLS
// close_notify tells the client.
func (in *instance) kill() {
	in.once.Do(func() {
		in.killed.Store(true)
		in.raw.closeAll()
		in.hs.Close()
	})
}

// url returns the address of the instance's stream endpoint.
func (in *instance) url() string {
	if in.proto.h2 {
		return "https://" + in.addr + "/events"
	}
	return "http://" + in.addr + "/events"
}

// endpoint returns where a client of p reaches the instance.
func (in *instance) endpoint(c *http.Client) endpoint { return endpoint{url: in.url(), client: c} }

// rawListener remembers the open TCP connections it accepted, beneath
// TLS, and sets their send buffer when sendBuffer is positive.
type rawListener struct {
	net.Listener
	sendBuffer int

	mu    sync.Mutex
	conns map[*rawConn]struct{}
}

type rawConn struct {
	net.Conn
	l    *rawListener
	once sync.Once
}

func (c *rawConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

func (l *rawListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if tc, ok := c.(*net.TCPConn); ok && l.sendBuffer > 0 {
		_ = tc.SetWriteBuffer(l.sendBuffer)
	}
	rc := &rawConn{Conn: c, l: l}
	l.mu.Lock()
	if l.conns == nil {
		l.conns = make(map[*rawConn]struct{})
	}
	l.conns[rc] = struct{}{}
	l.mu.Unlock()
	return rc, nil
}

// closeAll closes the listener and, beneath TLS, every open connection.
func (l *rawListener) closeAll() {
	l.mu.Lock()
	conns := make([]*rawConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	l.Listener.Close()
	for _, c := range conns {
		c.Close()
	}
}

// memoryBroker returns a memory broker closed at cleanup.
func memoryBroker(tb testing.TB, opts ...server.MemoryOption) *server.MemoryBroker {
	tb.Helper()
	b := server.NewMemoryBroker(opts...)
	tb.Cleanup(func() { b.Close() })
	return b
}

// clientConfig is what a test may change about a client's transport.
type clientConfig struct {
	// readBuffer, when positive, is the SO_RCVBUF of the client's
	// connections.
	readBuffer int
	// streamWindow, when positive, is the client's HTTP/2 flow-control
	// window per stream: a stream whose body is not read blocks the
	// server's writes to it after that many bytes.
	streamWindow int
	// pingTimeout, when positive, makes the HTTP/2 transport ping a
	// connection that has been silent that long and close it when the
	// ping gets no answer in that long again: how a client drops a dead
	// connection rather than sending its next request on it.
	pingTimeout time.Duration
}

// dialer opens a client's TCP connections and remembers them, so that a
// test can stop reading them or close them as a dying peer would.
type dialer struct {
	cfg clientConfig

	mu    sync.Mutex
	conns []*peerConn // open ones, oldest first
}

// peerConn is a client connection whose reads can be stopped: the client
// then no longer reads its socket, as a peer that hangs.
type peerConn struct {
	net.Conn
	d       *dialer
	stalled chan struct{} // closed: reads block until the connection closes
	once    sync.Once
	closed  chan struct{}
}

func (c *peerConn) Read(p []byte) (int, error) {
	select {
	case <-c.stalled:
		<-c.closed
		return 0, net.ErrClosed
	default:
	}
	return c.Conn.Read(p)
}

func (c *peerConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.d.mu.Lock()
		c.d.conns = slices.DeleteFunc(c.d.conns, func(o *peerConn) bool { return o == c })
		c.d.mu.Unlock()
	})
	return c.Conn.Close()
}

// stall makes the connection stop reading its socket.
func (c *peerConn) stall() { close(c.stalled) }

// reset closes the connection with a TCP reset, as a peer that dies.
func (c *peerConn) reset() {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if d.cfg.readBuffer > 0 {
		_ = c.(*net.TCPConn).SetReadBuffer(d.cfg.readBuffer)
	}
	pc := &peerConn{Conn: c, d: d, stalled: make(chan struct{}), closed: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, pc)
	d.mu.Unlock()
	return pc, nil
}

// opened returns the connections dialed and not closed yet.
func (d *dialer) opened() []*peerConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*peerConn(nil), d.conns...)
}

// newClient returns an HTTP client of protocol p that trusts the suite's
// certificate, and its dialer. HTTP/2 clients multiplex every stream to
// one host on one connection, as browsers do.
func newClient(tb testing.TB, p proto, cfg clientConfig) (*http.Client, *dialer) {
	tb.Helper()
	d := &dialer{cfg: cfg}
	tr := &http.Transport{
		DialContext:         d.dial,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 100,
	}
	if p.h2 {
		tr.TLSClientConfig = &tls.Config{RootCAs: testCert().pool}
		tr.ForceAttemptHTTP2 = true
		tr.HTTP2 = &http.HTTP2Config{
			MaxReceiveBufferPerStream: cfg.streamWindow,
			SendPingTimeout:           cfg.pingTimeout,
			PingTimeout:               cfg.pingTimeout,
		}
	}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, d
}

// suiteCert is the self-signed certificate of every TLS server of the
// suite (the instances, the proxies' fronts and nginx), for 127.0.0.1.
type suiteCert struct {
	cert            tls.Certificate
	pool            *x509.CertPool
	certPEM, keyPEM []byte
}

var testCert = sync.OnceValue(func() *suiteCert {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ssekit faulttest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	c := &suiteCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		pool:    x509.NewCertPool(),
	}
	if c.cert, err = tls.X509KeyPair(c.certPEM, c.keyPEM); err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	c.pool.AddCert(leaf)
	return c
})

// writeCert writes the suite's certificate and key into dir, for nginx.
func writeCert(tb testing.TB, dir string) (certFile, keyFile string) {
	tb.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, testCert().certPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, testCert().keyPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return certFile, keyFile
}

// waitFor polls cond until it holds, failing after timeout with what.
// Polling is for state with no channel to wait on, such as counters.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	if !poll(timeout, cond) {
		tb.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// poll polls cond until it holds or d has passed, and reports whether it
// held.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}
