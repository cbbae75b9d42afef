package server

import (
	"net"
	"net/http"
)

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

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
