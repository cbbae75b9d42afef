package server

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// ErrUnauthenticated, wrapped in an [AuthorizeFunc]'s error, makes the
// response 401 instead of 403.
var ErrUnauthenticated = errors.New("server: unauthenticated")

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

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	s.counters.rejected.Add(1)
	if status >= 500 || status == http.StatusTooManyRequests {
		s.cfg.logger.Warn("ssekit: request refused", "remote", r.RemoteAddr, "status", status, "reason", reason)
	} else {
		s.cfg.logger.Debug("ssekit: request refused", "remote", r.RemoteAddr, "status", status, "reason", reason)
	}
	http.Error(w, reason, status)
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
