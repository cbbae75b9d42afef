package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// opening is how a stream starts, in order: the hello; the reset, or the
// replay read through cursor; the live frames of its subscription follow.
// It holds what the handler undoes when the stream ends (close); the
// stream's goroutine drops the hello and the reset once written.
type opening struct {
	s      *Server
	c      *conn
	client string
	topics []string
	hello  []byte
	reset  []byte
	cursor Cursor // while the client catches up
}

// close undoes what open did: the cursor, the subscription (the stream's
// current one: a replay may have replaced it), the admission.
func (o *opening) close() {
	if o.cursor != nil {
		o.cursor.Close()
	}
	if o.c.sub != nil {
		o.c.sub.Close()
	}
	o.s.release(o.client, o.c)
}

var (
	errShutdown     = errors.New("server: shutting down")
	errDisconnected = errors.New("server: disconnected by DisconnectAll")
)

// stream writes the response until the client goes, the subscription ends
// or the server shuts down, and returns why it stopped. Its goroutine writes
// the hello and any replay, then hands the stream to the Server's pool
// (see conn), and waits for the stream to end, writing it again itself
// whenever the stream is behind. It waits in a function of its own with a
// shallow stack, which the garbage collector shrinks: an idle stream costs
// little more than its goroutine's smallest stack.
func (s *Server) stream(r *http.Request, c *conn, o *opening) error {
	rc := &c.rc
	if c.body != nil && !c.body.done(r) {
		// net/http reads what is left of a request body before it writes
		// the response's headers, and again when the handler returns:
		// a client that declared a body it never sends would hold the
		// stream, and Shutdown, forever. The stream does not need the
		// rest of the body: start at once, and drop it at the end.
		_ = rc.EnableFullDuplex()
		defer func() {
			if !c.body.done(r) {
				_ = rc.SetReadDeadline(time.Now())
			}
		}()
	}
	// net/http writes the response's last chunk after the handler returns.
	defer func() { _ = rc.SetWriteDeadline(time.Now().Add(s.cfg.writeTimeout)) }()
	if err := s.start(r, c, o); err != nil {
		return err
	}
	return s.wait(r, c)
}

// start writes the response's headers, registers the stream and writes
// the hello and any replay on the stream's own goroutine, then writes what
// queued meanwhile and hands the stream to the pool.
func (s *Server) start(r *http.Request, c *conn, o *opening) error {
	w, rc := c.w, &c.rc
	// A server ReadTimeout must not cancel the stream through the
	// connection's background read, nor its WriteTimeout cut it: the
	// watchdog bounds the stream's writes instead.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	if !canSetDeadline(w) {
		s.deadlineOnce.Do(func() {
			s.cfg.logger.Warn("ssekit: the ResponseWriter does not support write deadlines: a middleware wraps it without an Unwrap method. "+
				"A client that stops reading is evicted only once its queue overflows, and http.Server's WriteTimeout, if set, cuts every stream",
				"type", typeName(w))
		})
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)

	s.watch()

	head := append(o.hello, o.reset...)
	if o.reset != nil {
		s.counters.delivered.Add(1) // the reset is an event the client handles
	}
	o.hello, o.reset = nil, nil
	c.wmu.Lock()
	sc := s.scratch()
	var err error
	if o.cursor != nil {
		err = s.catchUp(r, c, o, head, sc)
	} else {
		err = c.write(head, nil, nanotime(), sc)
	}
	putScratch(sc)
	c.wmu.Unlock()
	// What queued while the stream started is written first; from then
	// on the queue says when frames wait.
	if err == nil {
		err = c.drainOwn()
	}
	if err != nil {
		c.release()
		return s.finish(r, c, err)
	}
	return nil
}

// wait waits for the stream to end, writing it when it is its own
// goroutine's to write.
func (s *Server) wait(r *http.Request, c *conn) error {
	var ready <-chan struct{} // for a subscription that cannot notify
	if !c.pooled() {
		ready = c.sub.Ready()
	}
	done := r.Context().Done()
	for {
		select {
		case <-c.wake:
		case <-ready:
		case <-done:
			c.end(r.Context().Err())
		}
		if err := c.stopped(); err != nil {
			c.release()
			return s.finish(r, c, err)
		}
		if c.own.Load() {
			if err := c.drainOwn(); err != nil {
				c.end(err)
			}
		}
	}
}

// replayPage bounds the bytes of one page of a replay: a replay of any size
// is read and written a page at a time.
const replayPage = 256 << 10

// catchUp writes head and the events the client missed, read a page at a
// time from o.cursor, while live events wait in the subscription's queue. Should the
// queue overflow meanwhile, a new subscription replaces it and the cursor,
// which also yields what is stored after it was made, reads on. It returns
// once the replay has reached the subscription's position with the queue
// intact: the live frames are then written by the stream's usual drain,
// which skips those at or below c.lastSeq. Call with c.wmu held.
func (s *Server) catchUp(r *http.Request, c *conn, o *opening, head []byte, sc *scratch) error {
	page := make([]Frame, 0, 256)
	replayed := 0
	defer func() { s.counters.replayed.Add(uint64(replayed)) }()
	for {
		if err := c.stopped(); err != nil {
			return err
		}
		page, err := o.cursor.Next(r.Context(), page[:0], replayPage)
		if errors.Is(err, ErrExpired) {
			// Events the client was about to replay were trimmed first
			// (a broker may find out only as it reads, or retention
			// overtook a slow replay): reset it to the live position.
			return s.resetLive(r, c, o, head, sc)
		}
		if err != nil {
			return err
		}
		if len(head) > 0 || len(page) > 0 {
			if err := c.write(head, page, nanotime(), sc); err != nil {
				return err
			}
			head = nil
		}
		if len(page) > 0 {
			c.lastSeq = page[len(page)-1].Seq
			c.queue.floor.Store(c.lastSeq) // live frames the replay gave need no room
			replayed += len(page)
			s.counters.delivered.Add(uint64(len(page)))
		}
		clear(page)
		if len(page) > 0 && c.lastSeq < c.sub.Position() {
			continue // the queue holds nothing this old
		}
		if !s.overflowed(c.sub) {
			return nil
		}
		// The live queue overflowed while the client caught up: what it
		// dropped is in the broker's history, where the cursor reads on.
		if err := s.resubscribe(r, c, o); err != nil {
			return err
		}
	}
}

// overflowed reports whether sub's queue overflowed, as a live queue does
// while its stream replays. Its frames, if any, stay queued.
func (s *Server) overflowed(sub Subscription) bool {
	if q, ok := sub.(interface{ Ended() error }); ok {
		return errors.Is(q.Ended(), ErrSlowConsumer)
	}
	return false
}

// resubscribe replaces the stream's subscription, whose queue overflowed,
// with a new one on the same queue.
func (s *Server) resubscribe(r *http.Request, c *conn, o *opening) error {
	c.sub.Close()
	c.queue.reopen()
	sub, err := s.broker.Subscribe(r.Context(), c.request(o.topics))
	if err != nil {
		return err
	}
	c.adopt(sub)
	return nil
}

// resetLive ends a replay that cannot go on with a reset event to the
// subscription's position, after head. Call with c.wmu held.
func (s *Server) resetLive(r *http.Request, c *conn, o *opening, head []byte, sc *scratch) error {
	if s.overflowed(c.sub) {
		if err := s.resubscribe(r, c, o); err != nil {
			return err
		}
	}
	s.counters.resets.Add(1)
	s.counters.delivered.Add(1)
	s.cfg.logger.Debug("ssekit: reset during a replay", "remote", r.RemoteAddr, "reason", "expired")
	reset := appendReset(nil, EventID{Epoch: s.broker.Epoch(), Seq: c.sub.Position()}.String(), schema.ResetExpired)
	if err := c.write(append(head, reset...), nil, nanotime(), sc); err != nil {
		return err
	}
	c.lastSeq = c.sub.Position()
	c.queue.floor.Store(c.lastSeq)
	return nil
}

// finish counts and logs the end of a stream. A client that goes away, or
// that stops reading and is evicted, is the client's doing: it is logged at
// debug level, so that clients do not control the log's volume.
func (s *Server) finish(r *http.Request, c *conn, err error) error {
	switch {
	case errors.Is(err, ErrSlowConsumer) || isTimeout(err) || c.timedOut.Load():
		// A client that stops reading holds the write until the watchdog
		// ends it, while its queue overflows: an eviction either way.
		s.counters.evicted.Add(1)
		s.cfg.logger.Debug("ssekit: evicted slow client", "remote", r.RemoteAddr, "err", err)
	case errors.Is(err, ErrExpired):
		s.cfg.logger.Debug("ssekit: replay overtaken by retention", "remote", r.RemoteAddr)
	default:
		s.cfg.logger.Debug("ssekit: stream ended", "remote", r.RemoteAddr, "reason", err)
	}
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

// scratch is what a writer reuses from one write to the next: the frames it
// fetched, the buffer it coalesces them in, and where it counts what it
// wrote. A pool worker has one of its own, with counters of its own (no
// cache line shared between cores on the way of every delivery); a
// stream's own goroutine takes one from scratches, with the Server's
// counters, so that an idle stream holds none.
type scratch struct {
	frames           []Frame
	buf              []byte
	delivered, bytes *atomic.Uint64
}

// freeScratches holds scratches for streams' own goroutines, a few, kept
// across garbage collections (a sync.Pool would drop their buffers at every
// one); past them, a scratch is made and dropped.
var freeScratches = make(chan *scratch, 16)

// scratch returns a scratch for a stream's own goroutine, counting into the
// Server's counters; give it back with putScratch.
func (s *Server) scratch() *scratch {
	var sc *scratch
	select {
	case sc = <-freeScratches:
	default:
		sc = &scratch{buf: make([]byte, 0, 4<<10)}
	}
	sc.delivered, sc.bytes = &s.counters.delivered, &s.counters.bytes
	return sc
}

func putScratch(sc *scratch) {
	sc.delivered, sc.bytes = nil, nil
	select {
	case freeScratches <- sc:
	default:
	}
}

// write writes head and frames, coalesced, then flushes. The watchdog
// bounds each chunk's write by the write timeout: writeStart is renewed per
// chunk, so that the timeout bounds a client's progress rather than the
// size of a burst.
func (s *Server) write(c *conn, head []byte, frames []Frame, now int64, sc *scratch) error {
	c.writeStart.Store(now)
	if len(head) == 0 && len(frames) == 1 { // one frame goes out as it is
		if err := c.writeRaw(frames[0].Bytes); err != nil {
			return err
		}
		if err := c.rc.Flush(); err != nil {
			return err
		}
		sc.bytes.Add(uint64(len(frames[0].Bytes)))
		return nil
	}
	buf := append(sc.buf[:0], head...)
	defer func() { sc.buf = buf[:0] }()
	n := 0
	for _, f := range frames {
		if len(buf)+len(f.Bytes) > writeChunk && len(buf) > 0 {
			if err := c.writeRaw(buf); err != nil {
				return err
			}
			n += len(buf)
			buf = buf[:0]
		}
		if len(f.Bytes) > writeChunk { // a large frame goes out as it is
			if err := c.writeRaw(f.Bytes); err != nil {
				return err
			}
			n += len(f.Bytes)
			continue
		}
		buf = append(buf, f.Bytes...)
	}
	if len(buf) > 0 {
		if err := c.writeRaw(buf); err != nil {
			return err
		}
		n += len(buf)
	}
	if err := c.rc.Flush(); err != nil {
		return err
	}
	sc.bytes.Add(uint64(n))
	return nil
}

// writeRaw writes p in pieces of at most writeChunk bytes. Every write but
// a stream's first of a batch gives the watchdog a fresh start.
func (c *conn) writeRaw(p []byte) error {
	for first := true; len(p) > 0; first = false {
		n := min(len(p), writeChunk)
		if !first || c.writeStart.Load() == 0 {
			c.writeStart.Store(nanotime())
		}
		if _, err := c.w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// canSetDeadline reports whether w supports write deadlines, itself or
// through the ResponseWriter it unwraps to.
func canSetDeadline(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case interface{ SetWriteDeadline(time.Time) error }:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
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

// trackBody makes r's body count what is read of it, when r has one: when
// the request declares one. A middleware may have replaced an empty body
// with a reader of its own, which says nothing of the connection.
func trackBody(r *http.Request) *bodyTracker {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return nil
	}
	t := &bodyTracker{ReadCloser: r.Body}
	r.Body = t
	return t
}
