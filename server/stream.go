package server

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"
	"time"
)

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
