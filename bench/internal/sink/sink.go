// Package sink provides in-process client connections for fan-out
// benchmarks: http.ResponseWriters that discard what they are written and
// count the events in it.
package sink

import (
	"bytes"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Counter totals the events written to a set of Writers. Its zero value
// is ready to use.
type Counter struct {
	frames atomic.Int64
	target atomic.Int64 // WaitFor's target; writers signal when frames reach it
	_      [48]byte     // keep ready on another cache line
	ready  atomic.Int64

	once    sync.Once
	reached chan struct{}
	timer   *time.Timer

	mu      sync.Mutex
	writers []*Writer
}

// Mark remembers how many events each writer has been written so far, for
// MinSince.
func (c *Counter) Mark() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.writers {
		w.mark = w.frames.Load()
	}
}

// MinSince returns the fewest events written to any one writer since the
// last Mark.
func (c *Counter) MinSince() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.writers) == 0 {
		return 0
	}
	m := c.writers[0].frames.Load() - c.writers[0].mark
	for _, w := range c.writers[1:] {
		m = min(m, w.frames.Load()-w.mark)
	}
	return m
}

func (c *Counter) ch() chan struct{} {
	c.once.Do(func() { c.reached = make(chan struct{}, 1) })
	return c.reached
}

// WaitFor blocks until the writers have written want events in all, or
// until limit has passed, and reports whether they did. One goroutine at a
// time may wait.
func (c *Counter) WaitFor(want int64, limit time.Duration) bool {
	if c.frames.Load() >= want {
		return true
	}
	ch := c.ch()
	c.target.Store(want)
	if c.timer == nil {
		c.timer = time.NewTimer(limit)
	} else {
		c.timer.Reset(limit)
	}
	defer c.timer.Stop()
	for c.frames.Load() < want {
		select {
		case <-ch:
		case <-c.timer.C:
			return c.frames.Load() >= want
		}
	}
	return true
}

// Frames returns the number of events written so far, over all writers.
func (c *Counter) Frames() int64 { return c.frames.Load() }

// Ready returns the number of writers that have been written at least one
// event.
func (c *Counter) Ready() int64 { return c.ready.Load() }

// Writer is a client connection in process: an http.ResponseWriter and
// http.Flusher that drops what it is given and counts the events (each
// ends with a blank line, which may straddle two writes). It has no
// deadline methods, so http.ResponseController's SetWriteDeadline returns
// an error (allocated anew on every call) as on a wrapper that hides them.
type Writer struct {
	frames atomic.Int64 // events written to this writer
	mark   int64        // frames at the Counter's last Mark
	header http.Header
	c      *Counter
	lastLF bool
	seen   bool
}

// New returns a Writer counting into c. With deadlines, the Writer also has
// SetWriteDeadline and SetReadDeadline, as net/http's own ResponseWriter
// does, and http.ResponseController's deadline calls succeed without
// allocating.
func New(c *Counter, deadlines bool) http.ResponseWriter {
	w := &Writer{header: make(http.Header), c: c}
	c.mu.Lock()
	c.writers = append(c.writers, w)
	c.mu.Unlock()
	if deadlines {
		return &DeadlineWriter{w}
	}
	return w
}

func (w *Writer) Header() http.Header { return w.header }
func (w *Writer) WriteHeader(int)     {}
func (w *Writer) Flush()              {}

func (w *Writer) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n := int64(bytes.Count(b, []byte("\n\n")))
	if w.lastLF && b[0] == '\n' {
		n++
	}
	w.lastLF = b[len(b)-1] == '\n'
	if n > 0 {
		w.frames.Add(n)
		if total := w.c.frames.Add(n); total >= w.c.target.Load() {
			select {
			case w.c.ch() <- struct{}{}:
			default:
			}
		}
		if !w.seen {
			w.seen = true
			w.c.ready.Add(1)
		}
	}
	return len(b), nil
}

// DeadlineWriter is a Writer with the deadline methods of a real
// connection's ResponseWriter.
type DeadlineWriter struct{ *Writer }

func (w *DeadlineWriter) SetWriteDeadline(time.Time) error { return nil }
func (w *DeadlineWriter) SetReadDeadline(time.Time) error  { return nil }
