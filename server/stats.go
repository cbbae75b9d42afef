package server

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
	delivered, bytes := s.pool.counts()
	return Stats{
		Open:        open,
		Connections: c.connections.Load(),
		Delivered:   c.delivered.Load() + delivered,
		Bytes:       c.bytes.Load() + bytes,
		Replayed:    c.replayed.Load(),
		Resets:      c.resets.Load(),
		Evicted:     c.evicted.Load(),
		Rejected:    c.rejected.Load(),
	}
}
