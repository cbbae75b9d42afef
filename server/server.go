package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssekit/ssekit/shared/schema"
)

// ErrUnauthenticated, wrapped in an [AuthorizeFunc]'s error, makes the
// response 401 instead of 403.
var ErrUnauthenticated = errors.New("server: unauthenticated")

// Server is the Server-Sent Events endpoint: an [http.Handler] that streams
// a [Broker]'s topics to each request. Mount it anywhere, in chi or in
// net/http. It answers GET (see [WithMethods]).
type Server struct {
	broker Broker
	cfg    config
	hello  []byte // retry and hello, the same bytes for every connection
	hbeat  []byte // heartbeat comment

	mu       sync.Mutex
	perIP    map[string]int
	conns    int
	closing  bool
	streams  map[*conn]struct{} // open streams, for Shutdown and DisconnectAll
	active   sync.WaitGroup
	counters counters
}

type counters struct {
	connections, delivered, bytes, replayed, resets, evicted, rejected atomic.Uint64
}

// New returns a Server streaming from broker. It panics, naming the option,
// when an option is invalid.
func New(broker Broker, opts ...Option) *Server {
	if broker == nil {
		panic("server: New: nil broker")
	}
	cfg := config{
		topics:       QueryTopics,
		methods:      []string{http.MethodGet},
		maxTopics:    DefaultMaxTopics,
		retry:        DefaultRetry,
		heartbeat:    DefaultHeartbeat,
		writeTimeout: DefaultWriteTimeout,
		maxConns:     DefaultMaxConnections,
		maxPerIP:     DefaultMaxPerIP,
		maxIDLen:     DefaultMaxLastEventIDLen,
		retryAfter:   DefaultRetryAfter,
		logger:       slog.Default(),
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	if len(cfg.errs) > 0 {
		panic("server: New: " + strings.Join(cfg.errs, "; "))
	}
	return &Server{
		broker:  broker,
		cfg:     cfg,
		hello:   helloFrame(cfg.retry, cfg.registry),
		hbeat:   []byte(":\n\n"),
		perIP:   make(map[string]int),
		streams: make(map[*conn]struct{}),
	}
}

// QueryTopics is the default [TopicFunc]: the values of the repeated "topic"
// query parameter, each checked by [ValidTopic].
func QueryTopics(r *http.Request) ([]string, error) {
	topics := r.URL.Query()["topic"]
	for _, t := range topics {
		if err := ValidTopic(t); err != nil {
			return nil, err
		}
	}
	return topics, nil
}

// ValidTopic reports whether name is a well-formed topic: 1 to [MaxTopicLen]
// bytes of UTF-8 with no space or control characters.
func ValidTopic(name string) error {
	switch {
	case name == "":
		return errors.New("empty topic name")
	case len(name) > MaxTopicLen:
		return fmt.Errorf("topic name longer than %d bytes", MaxTopicLen)
	case !utf8.ValidString(name):
		return errors.New("topic name is not valid UTF-8")
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("topic name %q contains a space or control character", name)
	}
	return nil
}

// ServeHTTP streams the request's topics as text/event-stream: first the
// reconnection time and the hello event; then, when the request carries a
// Last-Event-ID header (or a lastEventId query parameter), what it missed,
// or a reset event when that cannot be replayed; then live events, with
// heartbeat comments while idle. Requests it refuses get a plain-text
// reason: 405 for a method not allowed (see [WithMethods]), 400 for bad
// topics, 401/403 from the authorization hook, 429/503 with Retry-After at
// the connection caps or after Shutdown.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(s.cfg.methods, r.Method) {
		w.Header().Set("Allow", strings.Join(s.cfg.methods, ", "))
		s.refuse(w, r, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use "+strings.Join(s.cfg.methods, " or "))
		return
	}
	topics, err := s.cfg.topics(r)
	if err == nil {
		err = s.checkTopics(topics)
	}
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if s.cfg.authorize != nil {
		if err := s.cfg.authorize(r, topics); err != nil {
			status := http.StatusForbidden
			if errors.Is(err, ErrUnauthenticated) {
				status = http.StatusUnauthorized
			}
			s.refuse(w, r, status, err.Error())
			return
		}
	}
	ip := clientIP(r)
	if status, reason := s.acquire(ip); status != 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((s.cfg.retryAfter+time.Second-1)/time.Second)))
		s.refuse(w, r, status, reason)
		return
	}
	defer s.release(ip)

	req := SubscribeRequest{Topics: topics, LastEventID: lastEventID(r), Limits: s.cfg.limits}
	if len(req.LastEventID) > s.cfg.maxIDLen {
		req.LastEventID, req.ResetReason = "", schema.ResetTooLong
	}
	sub, err := s.broker.Subscribe(r.Context(), req)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrBrokerClosed) {
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", strconv.Itoa(int((s.cfg.retryAfter+time.Second-1)/time.Second)))
		}
		s.cfg.logger.Warn("ssekit: subscribe failed", "topics", topics, "err", err)
		s.refuse(w, r, status, "cannot subscribe: "+err.Error())
		return
	}
	defer sub.Close()
	if reason := sub.Reset(); reason != "" {
		s.counters.resets.Add(1)
		s.cfg.logger.Debug("ssekit: reset", "remote", r.RemoteAddr, "last_event_id", req.LastEventID, "reason", reason)
	}
	s.counters.replayed.Add(uint64(sub.Replayed()))
	s.counters.connections.Add(1)
	s.cfg.logger.Debug("ssekit: stream open", "remote", r.RemoteAddr, "topics", topics, "replayed", sub.Replayed())
	if s.cfg.onConnect != nil {
		if onClose := s.cfg.onConnect(r, topics); onClose != nil {
			defer onClose()
		}
	}
	err = s.stream(w, r, sub)
	s.cfg.logger.Debug("ssekit: stream closed", "remote", r.RemoteAddr, "reason", err)
}

// stream writes the response until the client goes, the subscription ends
// or the server shuts down, and returns why it stopped.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, sub Subscription) error {
	rc := http.NewResponseController(w)
	// The request has no body to wait for; a server ReadTimeout must not
	// cancel the stream through the connection's background read.
	_ = rc.SetReadDeadline(time.Time{})
	// net/http writes the response's last chunk after the handler returns;
	// the last write's deadline may have passed while the stream was idle.
	defer func() { _ = rc.SetWriteDeadline(time.Now().Add(s.cfg.writeTimeout)) }()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)

	// head is written before the next frames: the hello, then heartbeats.
	head := s.hello
	c := newConn()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return errShutdown
	}
	s.streams[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, c)
		s.mu.Unlock()
	}()
	defer context.AfterFunc(r.Context(), func() { c.end(r.Context().Err()) })()
	defer c.heartbeat(s.cfg.heartbeat).stop()
	for {
		// The frames slice comes from a pool, like the write buffer: a
		// backlog's slice is reused by the next batch, and an idle stream
		// holds none.
		fp := frameSlices.Get().(*[][]byte)
		frames, end := sub.Fetch((*fp)[:0])
		if len(head) > 0 || len(frames) > 0 {
			if err := s.write(w, rc, head, frames); err != nil {
				// A client that stops reading holds the write until its
				// deadline, while its queue overflows: an eviction too.
				if _, end := sub.Fetch(frames[:0]); errors.Is(end, ErrSlowConsumer) || errors.Is(err, os.ErrDeadlineExceeded) {
					s.counters.evicted.Add(1)
				}
				s.cfg.logger.Warn("ssekit: write failed", "remote", r.RemoteAddr, "err", err)
				return err
			}
			s.counters.delivered.Add(uint64(len(frames)))
			head = nil
			c.wrote.Store(true)
		}
		clear(frames) // do not pin shared frames from the pool
		*fp = frames[:0]
		frameSlices.Put(fp)
		if end != nil {
			if errors.Is(end, ErrSlowConsumer) {
				s.counters.evicted.Add(1)
				s.cfg.logger.Warn("ssekit: evicted slow client", "remote", r.RemoteAddr)
			}
			return end
		}
		select {
		case <-sub.Ready():
		case <-c.wake:
			if err := c.stopped(); err != nil {
				return err
			}
			if c.beat.Swap(false) {
				head = s.hbeat
			}
		}
	}
}

var (
	errShutdown     = errors.New("server: shutting down")
	errDisconnected = errors.New("server: disconnected by DisconnectAll")
)

// DisconnectAll ends every open stream cleanly and keeps serving: clients
// reconnect at once with their Last-Event-ID and resume. Use it to move
// clients off an instance gradually, or in tests of resumption.
func (s *Server) DisconnectAll() {
	s.mu.Lock()
	for c := range s.streams {
		c.end(errDisconnected)
	}
	s.mu.Unlock()
}

// writeChunk bounds one write. Frames that queued while the last write was
// in flight are coalesced into writes of up to writeChunk bytes, from a
// pooled buffer, with one flush at the end: a backlog costs few syscalls,
// the buffer never grows past the chunk (nor is held by an idle stream),
// and each write gets its own deadline, so that the write timeout bounds a
// client's progress rather than the size of a burst (a replay of megabytes
// still reaches a slow but live client).
const writeChunk = 64 << 10

var (
	writeBufs   = sync.Pool{New: func() any { b := make([]byte, 0, writeChunk); return &b }}
	frameSlices = sync.Pool{New: func() any { f := make([][]byte, 0, 64); return &f }}
)

// write writes head and frames, coalesced, then flushes.
func (s *Server) write(w http.ResponseWriter, rc *http.ResponseController, head []byte, frames [][]byte) error {
	bp := writeBufs.Get().(*[]byte)
	defer writeBufs.Put(bp)
	buf := append((*bp)[:0], head...)
	n := 0
	for _, f := range frames {
		if len(buf)+len(f) > writeChunk && len(buf) > 0 {
			if err := s.writeRaw(w, rc, buf); err != nil {
				return err
			}
			n += len(buf)
			buf = buf[:0]
		}
		if len(f) > writeChunk { // a large frame goes out as it is
			if err := s.writeRaw(w, rc, f); err != nil {
				return err
			}
			n += len(f)
			continue
		}
		buf = append(buf, f...)
	}
	if len(buf) > 0 {
		if err := s.writeRaw(w, rc, buf); err != nil {
			return err
		}
		n += len(buf)
	}
	*bp = buf[:0]
	if err := rc.Flush(); err != nil {
		return err
	}
	s.counters.bytes.Add(uint64(n))
	return nil
}

// writeRaw writes p in pieces of at most writeChunk bytes, each under a
// fresh write deadline.
func (s *Server) writeRaw(w http.ResponseWriter, rc *http.ResponseController, p []byte) error {
	for len(p) > 0 {
		n := min(len(p), writeChunk)
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.writeTimeout)) // unsupported by some wrappers: best effort
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	s.counters.rejected.Add(1)
	if status >= 500 || status == http.StatusTooManyRequests {
		s.cfg.logger.Warn("ssekit: request refused", "remote", r.RemoteAddr, "status", status, "reason", reason)
	} else {
		s.cfg.logger.Debug("ssekit: request refused", "remote", r.RemoteAddr, "status", status, "reason", reason)
	}
	http.Error(w, reason, status)
}

func (s *Server) checkTopics(topics []string) error {
	if len(topics) == 0 {
		return errors.New("no topic: name at least one with ?topic=")
	}
	if len(topics) > s.cfg.maxTopics {
		return fmt.Errorf("too many topics: %d, at most %d", len(topics), s.cfg.maxTopics)
	}
	for i, t := range topics {
		if s.cfg.allowed != nil && !s.cfg.allowed[t] {
			return fmt.Errorf("unknown topic %q", t)
		}
		for _, u := range topics[:i] {
			if u == t {
				return fmt.Errorf("topic %q named twice", t)
			}
		}
	}
	return nil
}

// acquire takes a connection slot for ip, or returns the status and reason
// to refuse with.
func (s *Server) acquire(ip string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return http.StatusServiceUnavailable, "server shutting down"
	case s.cfg.maxConns > 0 && s.conns >= s.cfg.maxConns:
		return http.StatusServiceUnavailable, "too many connections"
	case s.cfg.maxPerIP > 0 && s.perIP[ip] >= s.cfg.maxPerIP:
		return http.StatusTooManyRequests, "too many connections from " + ip
	}
	s.conns++
	s.perIP[ip]++
	s.active.Add(1)
	return 0, ""
}

func (s *Server) release(ip string) {
	s.mu.Lock()
	s.conns--
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
	s.mu.Unlock()
	s.active.Done()
}

// lastEventID returns the position the request resumes from: the
// Last-Event-ID header a browser sends when it reconnects, else the
// lastEventId query parameter, which a page that opens a new EventSource
// (which cannot set headers) uses to resume.
func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("lastEventId")
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Shutdown ends every open stream cleanly, so that http.Server.Shutdown can
// finish and clients reconnect (to another instance, with their
// Last-Event-ID). Requests after it get 503 with Retry-After. It waits for
// the streams to end or for ctx, and does not close the broker.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for c := range s.streams {
		c.end(errShutdown)
	}
	s.mu.Unlock()
	ended := make(chan struct{})
	go func() {
		s.active.Wait()
		close(ended)
	}()
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats is a snapshot of a Server's counters.
type Stats struct {
	Open        int    // streams open now
	Connections uint64 // streams opened since start
	Delivered   uint64 // frames written to clients, replayed ones included
	Bytes       uint64 // bytes written to clients
	Replayed    uint64 // frames replayed after a Last-Event-ID
	Resets      uint64 // reset events sent
	Evicted     uint64 // streams closed because their client was too slow
	Rejected    uint64 // requests refused with an error status
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	open := s.conns
	s.mu.Unlock()
	c := &s.counters
	return Stats{
		Open:        open,
		Connections: c.connections.Load(),
		Delivered:   c.delivered.Load(),
		Bytes:       c.bytes.Load(),
		Replayed:    c.replayed.Load(),
		Resets:      c.resets.Load(),
		Evicted:     c.evicted.Load(),
		Rejected:    c.rejected.Load(),
	}
}
