package server

// MemoryRetained returns how many events b holds for replay, and on how
// many topics.
func MemoryRetained(b *MemoryBroker) (events, topics int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.topics {
		events += t.log.len()
	}
	return events, len(b.topics)
}

// SetAfterSubscribe installs f to run on a stream's goroutine right after
// it subscribed and before it writes anything: the seam for events that
// arrive while a stream starts.
func SetAfterSubscribe(s *Server, f func()) { s.afterSubscribe.Store(&f) }

// SetAfterOwnDrain installs f to run when a stream's own goroutine has
// drained its queue and still holds the stream: the seam for a queue that
// ends while its writer is busy.
func SetAfterOwnDrain(s *Server, f func()) { s.afterOwnDrain.Store(&f) }
