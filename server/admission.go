package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientFunc returns the identity of the client behind a request, for the
// per-client cap of [WithMaxConnections]: requests with the same identity
// share the cap.
type ClientFunc func(r *http.Request) string

// RemoteClient is the default [ClientFunc]: the IP address of the
// connection's peer, the host of Request.RemoteAddr. Behind a reverse
// proxy that is the proxy's address for every user; see [ForwardedClient].
func RemoteClient(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ForwardedClient returns a [ClientFunc] for a server behind reverse
// proxies that append the address they saw to X-Forwarded-For. For a
// request whose peer is one of the trusted proxies (IP addresses or CIDR
// prefixes such as "10.0.0.0/8"), the client is the rightmost address in
// X-Forwarded-For that is not itself a trusted proxy: the one the nearest
// trusted proxy saw. Any other request is identified by its peer address
// and its X-Forwarded-For, which anyone can forge, is ignored. It panics
// on an address or prefix it cannot parse.
func ForwardedClient(trusted ...string) ClientFunc {
	prefixes := make([]netip.Prefix, 0, len(trusted))
	for _, t := range trusted {
		p, err := netip.ParsePrefix(t)
		if err != nil {
			a, aerr := netip.ParseAddr(t)
			if aerr != nil {
				panic(fmt.Sprintf("server: ForwardedClient: %q is neither an IP address nor a CIDR prefix", t))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		prefixes = append(prefixes, p.Masked())
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := RemoteClient(r)
		if !isTrusted(peer) {
			return peer
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop := strings.TrimSpace(hops[i])
			if hop == "" {
				continue
			}
			if !isTrusted(hop) {
				return hop
			}
		}
		return peer
	}
}

// acquire takes a connection slot for client and registers the stream c
// (for Shutdown and DisconnectAll, from now on: a stream that is being set
// up ends as soon as it has started), or returns the status and reason to
// refuse with.
func (s *Server) acquire(client string, c *conn) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return http.StatusServiceUnavailable, "server shutting down"
	case s.cfg.maxConns > 0 && s.conns >= s.cfg.maxConns:
		return http.StatusServiceUnavailable, "too many connections"
	case s.cfg.maxPerClient > 0 && s.perClient[client] >= s.cfg.maxPerClient:
		s.capOnce.Do(func() {
			s.cfg.logger.Warn("ssekit: a client reached the per-client stream cap; behind a reverse proxy every user has the proxy's address unless WithClient(ForwardedClient(...)) says which proxies to trust",
				"client", client, "cap", s.cfg.maxPerClient)
		})
		return http.StatusTooManyRequests, "too many connections from " + client
	}
	s.conns++
	s.perClient[client]++
	s.streams[c] = struct{}{}
	s.active.Add(1)
	return 0, ""
}

func (s *Server) release(client string, c *conn) {
	s.mu.Lock()
	delete(s.streams, c)
	s.conns--
	if s.perClient[client]--; s.perClient[client] <= 0 {
		delete(s.perClient, client)
	}
	s.mu.Unlock()
	s.active.Done()
}
