package server

import (
	"errors"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// ServeHTTP streams the request's topics as text/event-stream: first the
// reconnection time and the hello event; then, when the request carries a
// Last-Event-ID header (or a lastEventId query parameter), what it missed,
// or a reset event when that cannot be replayed; then live events, with
// heartbeats while idle. Requests it refuses get a plain-text reason: 405
// for a method not allowed (see [WithMethods]), 400 for bad topics, 401/403
// from the authorization hook, 429/503 with Retry-After at the connection
// caps or after Shutdown, 500 when the ResponseWriter cannot flush.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := s.open(w, r)
	if o == nil {
		return // refused, its reason written
	}
	defer o.close()
	if s.cfg.onConnect != nil {
		defer s.connectHook(r, o.topics)()
	}
	_ = s.stream(r, o.c, o)
}

// open does what a stream needs before its first byte: it checks the
// request, admits the client, subscribes and decides how the stream
// starts (a replay, a reset, or live events after the hello). It returns
// nil when it refused the request, having written why. Its frame, which is
// large, is gone from the stack by the time the stream's goroutine parks
// in ServeHTTP: what is left is shallow enough for the garbage collector
// to shrink the stack of an idle stream back to the size of a bare
// handler's.
func (s *Server) open(w http.ResponseWriter, r *http.Request) *opening {
	if !slices.Contains(s.cfg.methods, r.Method) {
		w.Header().Set("Allow", strings.Join(s.cfg.methods, ", "))
		s.refuse(w, r, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use "+strings.Join(s.cfg.methods, " or "))
		return nil
	}
	if !canFlush(w) {
		s.flushOnce.Do(func() {
			s.cfg.logger.Error("ssekit: the ResponseWriter cannot flush, so no event would reach a client: a middleware wraps it without Flush or Unwrap methods",
				"type", typeName(w))
		})
		s.refuse(w, r, http.StatusInternalServerError, "event stream unavailable: the server's ResponseWriter ("+typeName(w)+") cannot flush; a middleware must implement Flush or Unwrap")
		return nil
	}
	// A body the client declares but never sends would hold the response's
	// headers, and the stream, forever (see stream).
	body := trackBody(r)
	topics, err := s.cfg.topics(r)
	if err == nil {
		err = s.checkTopics(topics)
	}
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, err.Error())
		return nil
	}
	if s.cfg.authorize != nil {
		if err := s.cfg.authorize(r, topics); err != nil {
			s.refuseAuth(w, r, err)
			return nil
		}
	}
	c := newConn(s, w, body)
	c.everyBeat = r.URL.Query().Get("heartbeat") == "event" // before the watchdog sees it
	client := s.cfg.client(r)
	if status, reason := s.acquire(client, c); status != 0 {
		s.refuseRetry(w, r, status, reason)
		return nil
	}
	o := &opening{s: s, c: c, client: client, topics: topics}
	ok := false
	defer func() {
		if !ok {
			o.close()
		}
	}()

	lastID, fromHeader := lastEventID(r)
	after, resume, reset := s.position(lastID)
	sub, err := s.broker.Subscribe(r.Context(), c.request(topics))
	if err != nil {
		s.brokerFailed(w, r, "subscribe", err)
		return nil
	}
	c.adopt(sub)
	if f := s.afterSubscribe.Load(); f != nil {
		(*f)()
	}
	epoch := s.broker.Epoch()
	c.lastSeq = sub.Position()
	if resume && reset == "" {
		cur, err := s.broker.Replay(r.Context(), topics, after)
		switch {
		case errors.Is(err, ErrExpired):
			reset = schema.ResetExpired
		case errors.Is(err, ErrUnknownPosition):
			reset = schema.ResetUnknown
		case err != nil:
			s.brokerFailed(w, r, "replay", err)
			return nil
		default:
			o.cursor = cur
			c.lastSeq = after
		}
	}
	// The hello's id is where the client resumes should the stream end
	// right after it: the position of the subscription, or the ID the
	// client asked for, which a new EventSource does not know it has. A
	// client that sent the header has it; and a reset, which follows the
	// hello, brings the new position itself.
	var helloID string
	switch {
	case reset != "":
		s.counters.resets.Add(1)
		s.cfg.logger.Debug("ssekit: reset", "remote", r.RemoteAddr, "last_event_id", lastID, "reason", reset)
		o.reset = appendReset(nil, EventID{Epoch: epoch, Seq: sub.Position()}.String(), reset)
	case lastID == "":
		helloID = EventID{Epoch: epoch, Seq: sub.Position()}.String()
	case !fromHeader:
		helloID = lastID
	}
	o.hello = appendHello(nil, s.cfg.retry, s.helloData, helloID)
	s.counters.connections.Add(1)
	s.cfg.logger.Debug("ssekit: stream open", "remote", r.RemoteAddr, "topics", topics, "resume", o.cursor != nil)
	ok = true
	return o
}

// connectHook runs the WithOnConnect hook on a goroutine of its own, so
// that it delays neither the stream's headers nor its hello or replay (a
// hook that publishes to a broker on the network waits for a round trip).
// The stream is subscribed already: what the hook publishes reaches it.
// The returned function, deferred by the handler, waits for the hook and
// calls the function it returned.
func (s *Server) connectHook(r *http.Request, topics []string) func() {
	done := make(chan struct{})
	var onClose func()
	go func() {
		defer close(done)
		defer func() {
			// As net/http does for a handler: log, and keep serving.
			if v := recover(); v != nil {
				s.cfg.logger.Error("ssekit: panic in the WithOnConnect hook", "panic", v, "stack", string(debug.Stack()))
			}
		}()
		onClose = s.cfg.onConnect(r, topics)
	}()
	return func() {
		<-done
		if onClose != nil {
			onClose()
		}
	}
}

// position decides how a stream starts from the Last-Event-ID it was given:
// resume is true when the client gave one, and after is the sequence number
// it resumes after; reset is the reason it cannot be resumed, when the
// server can tell without asking the broker for the events.
func (s *Server) position(lastID string) (after uint64, resume bool, reset string) {
	if lastID == "" {
		return 0, false, ""
	}
	if len(lastID) > s.cfg.maxIDLen {
		return 0, true, schema.ResetTooLong
	}
	id, err := ParseEventID(lastID)
	switch {
	case err != nil:
		return 0, true, schema.ResetMalformed
	case id.Epoch != s.broker.Epoch():
		return 0, true, schema.ResetEpoch
	}
	return id.Seq, true, ""
}

// brokerFailed refuses a request the broker could not serve: 503 when it is
// closed, else 500. The broker's error is logged, not shown to the client.
func (s *Server) brokerFailed(w http.ResponseWriter, r *http.Request, op string, err error) {
	if errors.Is(err, ErrBrokerClosed) {
		s.refuseRetry(w, r, http.StatusServiceUnavailable, "event stream unavailable, try again later")
		return
	}
	if r.Context().Err() != nil {
		return // the client has gone
	}
	s.cfg.logger.Warn("ssekit: broker failed", "op", op, "remote", r.RemoteAddr, "err", err)
	s.refuse(w, r, http.StatusInternalServerError, "event stream unavailable: internal error")
}

func (s *Server) refuseRetry(w http.ResponseWriter, r *http.Request, status int, reason string) {
	w.Header().Set("Retry-After", strconv.Itoa(int((s.cfg.retryAfter+time.Second-1)/time.Second)))
	s.refuse(w, r, status, reason)
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	s.counters.rejected.Add(1)
	s.cfg.logger.Debug("ssekit: request refused", "remote", r.RemoteAddr, "status", status, "reason", reason)
	http.Error(w, reason, status)
}

// lastEventID returns the position the request resumes from, and whether
// it came in the Last-Event-ID header a browser sends when it reconnects.
// Without the header it is the lastEventId query parameter, which a page
// that opens a new EventSource (which cannot set headers) uses to resume.
func lastEventID(r *http.Request) (id string, fromHeader bool) {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id, true
	}
	return r.URL.Query().Get("lastEventId"), false
}
