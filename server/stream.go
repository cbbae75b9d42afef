package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// streamState is what one stream writes, in order: the hello; the reset,
// or the replay read through cursor; then the live frames of sub.
type streamState struct {
	topics    []string
	hello     []byte
	reset     []byte
	heartbeat []byte // the heartbeat's frame: a comment, or the event
	sub       Subscription
	cursor    Cursor // while the client catches up
	last      uint64 // live frames at or below it were written already, or precede the stream
	body      *bodyTracker
}

var (
	errShutdown     = errors.New("server: shutting down")
	errDisconnected = errors.New("server: disconnected by DisconnectAll")
)

// stream writes the response until the client goes, the subscription ends
// or the server shuts down, and returns why it stopped.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, st *streamState) error {
	rc := http.NewResponseController(w)
	wd := &writeDeadline{s: s, rc: rc, w: w, ok: true}
	if st.body != nil && !st.body.done(r) {
		// net/http reads what is left of a request body before it writes
		// the response's headers, and again when the handler returns:
		// a client that declared a body it never sends would hold the
		// stream, and Shutdown, forever. The stream does not need the
		// rest of the body: start at once, and drop it at the end.
		_ = rc.EnableFullDuplex()
		defer func() {
			if !st.body.done(r) {
				_ = rc.SetReadDeadline(time.Now())
			}
		}()
	}
	// A server ReadTimeout must not cancel the stream through the
	// connection's background read.
	_ = rc.SetReadDeadline(time.Time{})
	// net/http writes the response's last chunk after the handler returns.
	defer wd.set(time.Now().Add(s.cfg.writeTimeout))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)

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

	head := append(st.hello, st.reset...)
	if st.reset != nil {
		s.counters.delivered.Add(1) // the reset is an event the client handles
	}
	fp := frameSlices.Get().(*[]Frame)
	defer func() {
		clear(*fp) // do not pin shared frames from the pool
		*fp = (*fp)[:0]
		frameSlices.Put(fp)
	}()
	var frames []Frame
	var end error
	if st.cursor != nil {
		var err error
		if frames, end, err = s.catchUp(w, r, wd, c, st, head, (*fp)[:0]); err != nil {
			return s.failed(r, st, err)
		}
		head = nil
	} else {
		frames, end = st.sub.Fetch((*fp)[:0])
	}
	for {
		// Frames at or below st.last were written by the replay, or came
		// before the stream's position; the queue holds them in order.
		i := 0
		for i < len(frames) && frames[i].Seq <= st.last {
			i++
		}
		if len(head) > 0 || i < len(frames) {
			if err := s.write(w, wd, head, frames[i:]); err != nil {
				return s.failed(r, st, err)
			}
			s.counters.delivered.Add(uint64(len(frames) - i))
			head = nil
			c.wrote()
		}
		clear(frames)
		*fp = frames[:0]
		if end != nil {
			if errors.Is(end, ErrSlowConsumer) {
				s.counters.evicted.Add(1)
				s.cfg.logger.Debug("ssekit: evicted slow client", "remote", r.RemoteAddr)
			}
			return end
		}
		select {
		case <-st.sub.Ready():
		case <-c.wake:
			if err := c.stopped(); err != nil {
				return err
			}
			if c.beat.Swap(false) {
				head = st.heartbeat
			}
		}
		frames, end = st.sub.Fetch(*fp)
	}
}

// replayPage bounds the bytes of one page of a replay: a replay of any size
// is read and written a page at a time.
const replayPage = 256 << 10

// catchUp writes head and the events the client missed, read a page at a
// time from st.cursor, while live events wait in st.sub's queue. Should the
// queue overflow meanwhile, a new subscription replaces it and the cursor,
// which also yields what is stored after it was made, reads on. Once the
// replay has reached the subscription's position with the queue intact, it
// returns the queue's frames (and its end, if it ended) for the live loop,
// which skips those at or below st.last.
func (s *Server) catchUp(w http.ResponseWriter, r *http.Request, wd *writeDeadline, c *conn, st *streamState, head []byte, buf []Frame) (frames []Frame, end, err error) {
	page := make([]Frame, 0, 256)
	replayed := 0
	defer func() { s.counters.replayed.Add(uint64(replayed)) }()
	for {
		if err := c.stopped(); err != nil {
			return nil, nil, err
		}
		page, err = st.cursor.Next(r.Context(), page[:0], replayPage)
		if errors.Is(err, ErrExpired) {
			// Events the client was about to replay were trimmed first
			// (a broker may find out only as it reads, or retention
			// overtook a slow replay): reset it to the live position.
			return s.resetLive(w, r, wd, c, st, head, buf)
		}
		if err != nil {
			return nil, nil, err
		}
		if len(head) > 0 || len(page) > 0 {
			if err := s.write(w, wd, head, page); err != nil {
				return nil, nil, err
			}
			head = nil
			c.wrote()
		}
		if len(page) > 0 {
			st.last = page[len(page)-1].Seq
			replayed += len(page)
			s.counters.delivered.Add(uint64(len(page)))
		}
		clear(page)
		if len(page) > 0 && st.last < st.sub.Position() {
			continue // the queue holds nothing this old
		}
		frames, end = st.sub.Fetch(buf)
		if !errors.Is(end, ErrSlowConsumer) {
			return frames, end, nil
		}
		// The live queue overflowed while the client caught up: what it
		// dropped is in the broker's history, where the cursor reads on.
		st.sub.Close()
		sub, err := s.broker.Subscribe(r.Context(), SubscribeRequest{Topics: st.topics, Limits: s.cfg.limits})
		if err != nil {
			return nil, nil, err
		}
		st.sub = sub
	}
}

// resetLive ends a replay that cannot go on with a reset event to the
// subscription's position, after head, and returns the live frames that
// follow it.
func (s *Server) resetLive(w http.ResponseWriter, r *http.Request, wd *writeDeadline, c *conn, st *streamState, head []byte, buf []Frame) ([]Frame, error, error) {
	frames, end := st.sub.Fetch(buf)
	if errors.Is(end, ErrSlowConsumer) {
		st.sub.Close()
		sub, err := s.broker.Subscribe(r.Context(), SubscribeRequest{Topics: st.topics, Limits: s.cfg.limits})
		if err != nil {
			return nil, nil, err
		}
		st.sub = sub
		frames, end = nil, nil
	}
	s.counters.resets.Add(1)
	s.counters.delivered.Add(1)
	s.cfg.logger.Debug("ssekit: reset during a replay", "remote", r.RemoteAddr, "reason", "expired")
	reset := appendReset(nil, EventID{Epoch: s.broker.Epoch(), Seq: st.sub.Position()}.String(), schema.ResetExpired)
	if err := s.write(w, wd, append(head, reset...), nil); err != nil {
		return nil, nil, err
	}
	c.wrote()
	st.last = st.sub.Position()
	return frames, end, nil
}

// failed counts and logs the end of a stream whose write or replay failed.
// A client that goes away, or that stops reading and is evicted, is the
// client's doing: it is logged at debug level, so that clients do not
// control the log's volume.
func (s *Server) failed(r *http.Request, st *streamState, err error) error {
	if _, end := st.sub.Fetch(nil); errors.Is(end, ErrSlowConsumer) || errors.Is(err, os.ErrDeadlineExceeded) {
		// A client that stops reading holds the write until its deadline,
		// while its queue overflows: an eviction either way.
		s.counters.evicted.Add(1)
		s.cfg.logger.Debug("ssekit: evicted slow client", "remote", r.RemoteAddr, "err", err)
		return err
	}
	if errors.Is(err, ErrExpired) {
		// Events the client was replaying were trimmed before it read
		// them: it reconnects from its last ID and gets a reset.
		s.cfg.logger.Debug("ssekit: replay overtaken by retention", "remote", r.RemoteAddr)
		return err
	}
	s.cfg.logger.Debug("ssekit: stream write failed", "remote", r.RemoteAddr, "err", err)
	return err
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
	frameSlices = sync.Pool{New: func() any { f := make([]Frame, 0, 64); return &f }}
)

// write writes head and frames, coalesced, then flushes. Each write and the
// flush are bounded by the write timeout; once they are done the deadline
// is cleared, since Go's HTTP/2 server resets a stream whose deadline
// passes even while nothing is written.
func (s *Server) write(w http.ResponseWriter, wd *writeDeadline, head []byte, frames []Frame) error {
	bp := writeBufs.Get().(*[]byte)
	defer writeBufs.Put(bp)
	buf := append((*bp)[:0], head...)
	n := 0
	for _, f := range frames {
		if len(buf)+len(f.Bytes) > writeChunk && len(buf) > 0 {
			if err := s.writeRaw(w, wd, buf); err != nil {
				return err
			}
			n += len(buf)
			buf = buf[:0]
		}
		if len(f.Bytes) > writeChunk { // a large frame goes out as it is
			if err := s.writeRaw(w, wd, f.Bytes); err != nil {
				return err
			}
			n += len(f.Bytes)
			continue
		}
		buf = append(buf, f.Bytes...)
	}
	if len(buf) > 0 {
		if err := s.writeRaw(w, wd, buf); err != nil {
			return err
		}
		n += len(buf)
	}
	*bp = buf[:0]
	if err := wd.rc.Flush(); err != nil {
		return err
	}
	wd.set(time.Time{})
	s.counters.bytes.Add(uint64(n))
	return nil
}

// writeRaw writes p in pieces of at most writeChunk bytes, each under a
// fresh write deadline.
func (s *Server) writeRaw(w http.ResponseWriter, wd *writeDeadline, p []byte) error {
	for len(p) > 0 {
		n := min(len(p), writeChunk)
		wd.set(time.Now().Add(s.cfg.writeTimeout))
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// writeDeadline sets a stream's write deadlines through its
// ResponseController, once it knows the ResponseWriter supports them.
type writeDeadline struct {
	s  *Server
	rc *http.ResponseController
	w  http.ResponseWriter
	ok bool
}

func (d *writeDeadline) set(t time.Time) {
	if !d.ok {
		return
	}
	if err := d.rc.SetWriteDeadline(t); errors.Is(err, http.ErrNotSupported) {
		d.ok = false
		d.s.deadlineOnce.Do(func() {
			d.s.cfg.logger.Warn("ssekit: the ResponseWriter does not support write deadlines: a middleware wraps it without an Unwrap method. "+
				"A client that stops reading is evicted only once its queue overflows, and http.Server's WriteTimeout, if set, cuts every stream",
				"type", typeName(d.w))
		})
	}
}

// canFlush reports whether w can flush, itself or through the
// ResponseWriter it unwraps to, as http.ResponseController looks for it.
func canFlush(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case interface{ FlushError() error }, http.Flusher:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

// bodyTracker counts what was read of a request body.
type bodyTracker struct {
	io.ReadCloser
	n   atomic.Int64
	eof atomic.Bool
}

func (b *bodyTracker) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

// done reports whether the body was read to its end.
func (b *bodyTracker) done(r *http.Request) bool {
	return b.eof.Load() || r.ContentLength > 0 && b.n.Load() >= r.ContentLength
}

// trackBody makes r's body count what is read of it, when r has one.
func trackBody(r *http.Request) *bodyTracker {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	t := &bodyTracker{ReadCloser: r.Body}
	r.Body = t
	return t
}
