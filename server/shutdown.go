package server

import (
	"context"
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
