package server

import (
	"context"
	"net/http"
	"time"
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

// Shutdown ends every open stream cleanly, so that http.Server.Shutdown can
// finish and clients reconnect (to another instance, with their
// Last-Event-ID). Requests after it get 503 with Retry-After. It waits for
// the streams to end or for ctx, and does not close the broker.
func (s *Server) Shutdown(ctx context.Context) error {
	s.endStreams()
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

// endStreams refuses new streams and ends the open ones.
func (s *Server) endStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for c := range s.streams {
		c.end(errShutdown)
	}
}

// Defaults of [Server.ConfigureHTTP].
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

// ConfigureHTTP prepares hs, the http.Server that serves s, for event
// streams in production. It sets what hs leaves at its zero value:
//
//   - HTTP2.WriteByteTimeout to the stream write timeout ([WithWriteTimeout]).
//     An HTTP/2 client that stops reading its socket blocks every write of
//     its connection; a stream's own deadline then cannot end it (its reset
//     waits behind the blocked write), and neither can Shutdown. Only
//     WriteByteTimeout, which closes the connection, does.
//   - HTTP2.SendPingTimeout to the heartbeat interval ([WithHeartbeat]) and
//     HTTP2.PingTimeout to twice it (between 1 s and 15 s): an HTTP/2
//     connection that has been silent for an interval is pinged, and one
//     that does not answer is closed, so that the stream of a client that vanished (a
//     laptop that slept, a NAT that forgot the path) ends rather than
//     writing heartbeats into nothing until the kernel gives up.
//   - MaxHeaderBytes to [DefaultMaxHeaderBytes]. net/http's default of 1 MB
//     of request headers is held for as long as a stream lasts: at 10,000
//     streams, 10 GB a client could make the server hold.
//   - ReadHeaderTimeout to [DefaultReadHeaderTimeout], so that a client
//     cannot hold a connection by sending its headers slowly.
//
// It also registers s with hs.RegisterOnShutdown, so that hs.Shutdown ends
// the streams first, which it would otherwise wait for until its context
// ends. hs's ReadTimeout and WriteTimeout, right for ordinary requests, may
// stay: streams clear them.
//
//	hs := &http.Server{Addr: addr, Handler: mux}
//	events.ConfigureHTTP(hs)
//	go hs.ListenAndServeTLS(cert, key)
//	...
//	hs.Shutdown(ctx) // ends the streams, then the server
func (s *Server) ConfigureHTTP(hs *http.Server) {
	if hs.HTTP2 == nil {
		hs.HTTP2 = &http.HTTP2Config{}
	}
	if hs.HTTP2.WriteByteTimeout == 0 {
		hs.HTTP2.WriteByteTimeout = s.cfg.writeTimeout
	}
	if hs.MaxHeaderBytes == 0 {
		hs.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if hs.HTTP2.SendPingTimeout == 0 {
		hs.HTTP2.SendPingTimeout = s.cfg.heartbeat
	}
	if hs.HTTP2.PingTimeout == 0 {
		hs.HTTP2.PingTimeout = min(max(2*s.cfg.heartbeat, time.Second), 15*time.Second)
	}
	if hs.ReadHeaderTimeout == 0 {
		hs.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	hs.RegisterOnShutdown(s.endStreams)
}
