package sse

import (
	"bytes"
	"errors"
	"io"
	"math"
	"time"
)

// Decoder reads events from an event stream the way a browser's EventSource
// does, following WHATWG HTML §9.2.6
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
// it strips one leading byte order mark, splits lines on CR, LF and CRLF
// wherever the reads fall, repairs invalid UTF-8 as TextDecoder does, and
// dispatches an event at each blank line.
//
// A Decoder is incremental: it hands out each event as soon as the blank line
// that ends it has been read, without waiting for more input, and any split of
// the same bytes into reads gives the same events. It keeps at most one event
// (and one line) of the limit set by [Decoder.SetMaxEventSize] in memory.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	r    io.Reader
	buf  []byte // read buffer; buf[start:end] is not yet consumed
	rerr error  // the reader's error, returned once buf is drained
	err  error  // sticky error returned by Next

	start, end int
	// lfAt is the index in buf of the first LF at or after start, when it
	// is at least start; otherwise buf[start:lfNone] is known to hold no
	// LF. Remembering it keeps a stream of CR line ends from rescanning
	// the buffer for an LF at every line.
	lfAt, lfNone int
	max          int
	bomDone      bool // the leading byte order mark was looked for
	skipLF       bool // the last line ended in CR: an LF that follows is part of that line end

	data    []byte // data buffer
	typ     []byte // event type buffer
	scratch []byte // UTF-8 repair of an id

	idBuf    string // last event ID buffer (§9.2.6 "id")
	lastID   string // last event ID string, committed at dispatch
	typCache string // the last non-default type, reused to avoid an allocation per event

	retry    time.Duration
	hasRetry bool
}

const (
	minReadSize = 16 << 10
	// maxEmptyReads bounds the reads that return neither data nor an
	// error, as bufio does, so that a broken reader cannot spin Next.
	maxEmptyReads = 100
	bom           = "\xEF\xBB\xBF"
)

// NewDecoder returns a Decoder that reads an event stream from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, max: DefaultMaxEventSize, lfAt: -1}
}

// SetMaxEventSize sets the largest event (its data and type together) and the
// longest line the decoder accepts; n <= 0 restores [DefaultMaxEventSize].
// Past it, Next returns a [*LimitError]. Call it before the first Next.
func (d *Decoder) SetMaxEventSize(n int) {
	if n <= 0 {
		n = DefaultMaxEventSize
	}
	d.max = n
}

// LastEventID returns the stream's last event ID string after everything read
// so far: what a browser would send as Last-Event-ID if it reconnected now.
// Every blank line commits the id field seen before it, even in a block with
// no data, because the dispatch steps of §9.2.6 set the last event ID string
// before they look at the data buffer; an id containing U+0000 is ignored; an
// empty id resets it to "". An id in a block that the stream never finished
// is not committed (WPT eventsource/format-data-before-final-empty-line).
func (d *Decoder) LastEventID() string { return d.lastID }

// SetLastEventID seeds the last event ID, as a browser carries it into the
// response that follows a reconnection: events read afterwards report id
// until the stream sets another.
func (d *Decoder) SetLastEventID(id string) {
	d.idBuf = id
	d.lastID = id
}

// Retry returns the reconnection time set by the last valid retry field (one
// or more ASCII digits, in milliseconds), and false if there was none. A
// value too large for a [time.Duration] is clamped to the largest one.
func (d *Decoder) Retry() (time.Duration, bool) { return d.retry, d.hasRetry }

// Next returns the next event in the stream. At the end of the stream it
// returns [io.EOF]; an event whose block the stream did not finish with a
// blank line is discarded, as browsers do (§9.2.6). It returns the reader's
// other errors as they are, and a [*LimitError] for an event or a line over
// the limit. Once Next has returned an error it returns the same one again.
func (d *Decoder) Next() (Event, error) {
	if d.err != nil {
		return Event{}, d.err
	}
	for {
		line, err := d.readLine()
		if err != nil {
			d.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			if ev, ok := d.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := d.processLine(line); err != nil {
			d.err = err
			return Event{}, err
		}
	}
}

// readLine returns the next line without its line end. The line aliases the
// read buffer and is valid until the next call.
func (d *Decoder) readLine() ([]byte, error) {
	for {
		if !d.bomDone && !d.stripBOM() {
			if err := d.fill(); err != nil {
				return nil, err
			}
			continue
		}
		if d.skipLF && d.start < d.end {
			d.skipLF = false
			if d.buf[d.start] == '\n' {
				d.start++
			}
		}
		seg := d.buf[d.start:d.end]
		if i := d.indexLineEnd(); i >= 0 {
			d.start += i + 1
			if seg[i] == '\r' {
				if i+1 < len(seg) {
					if seg[i+1] == '\n' {
						d.start++
					}
				} else {
					// The LF of a CRLF may come with the next read; the
					// line has ended either way, so hand it out now.
					d.skipLF = true
				}
			}
			return seg[:i], nil
		}
		if len(seg) > d.max {
			return nil, &LimitError{Limit: d.max}
		}
		if err := d.fill(); err != nil {
			return nil, err
		}
	}
}

// stripBOM removes one leading byte order mark once enough of the stream is
// buffered to tell, and reports whether it could tell.
func (d *Decoder) stripBOM() bool {
	seg := d.buf[d.start:d.end]
	n := min(len(seg), len(bom))
	if string(seg[:n]) != bom[:n] {
		d.bomDone = true
		return true
	}
	if n == len(bom) {
		d.start += n
		d.bomDone = true
		return true
	}
	if d.rerr != nil { // the stream ended inside a prefix of the BOM
		d.bomDone = true
		return true
	}
	return false
}

// indexLineEnd returns the index of the first CR or LF in buf[start:end],
// relative to start, or -1.
func (d *Decoder) indexLineEnd() int {
	if d.lfAt < d.start {
		from := max(d.start, d.lfNone)
		if j := bytes.IndexByte(d.buf[from:d.end], '\n'); j >= 0 {
			d.lfAt = from + j
		} else {
			d.lfAt, d.lfNone = -1, d.end
		}
	}
	limit := d.end
	if d.lfAt >= d.start {
		limit = d.lfAt
	}
	if j := bytes.IndexByte(d.buf[d.start:limit], '\r'); j >= 0 {
		return j
	}
	if d.lfAt >= d.start {
		return d.lfAt - d.start
	}
	return -1
}

// fill reads more of the stream into the buffer, moving unread bytes to its
// front and growing it when a line does not fit. It returns the reader's
// error once everything before it has been consumed.
func (d *Decoder) fill() error {
	if d.rerr != nil {
		return d.rerr
	}
	if d.start > 0 {
		d.end = copy(d.buf, d.buf[d.start:d.end])
		if d.lfAt >= 0 {
			d.lfAt -= d.start
		}
		d.lfNone = max(d.lfNone-d.start, 0)
		d.start = 0
	}
	if d.end == len(d.buf) {
		size := max(2*len(d.buf), minReadSize)
		size = min(size, d.max+len(bom)+1) // one byte past the limit is enough to know
		size = max(size, d.end+1)
		nb := make([]byte, size)
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	for range maxEmptyReads {
		n, err := d.r.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			err = errors.New("sse: reader returned an invalid count")
			n = 0
		}
		d.end += n
		if err != nil {
			d.rerr = err
		}
		if n > 0 || err != nil {
			return nil
		}
	}
	d.rerr = io.ErrNoProgress
	return nil
}

// processLine applies one non-empty line to the buffers (§9.2.6).
func (d *Decoder) processLine(line []byte) error {
	if line[0] == ':' {
		return nil // comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		d.data = appendUTF8(d.data, value)
		d.data = append(d.data, '\n')
		if len(d.data)+len(d.typ) > d.max {
			return &LimitError{Limit: d.max}
		}
	case "event":
		d.typ = appendUTF8(d.typ[:0], value)
		if len(d.data)+len(d.typ) > d.max {
			return &LimitError{Limit: d.max}
		}
	case "id":
		if bytes.IndexByte(value, 0) >= 0 {
			return nil // ignored entirely, the old value stays (WPT eventsource/format-field-id-null)
		}
		d.scratch = appendUTF8(d.scratch[:0], value)
		if string(d.scratch) != d.idBuf {
			d.idBuf = string(d.scratch)
		}
	case "retry":
		if ms, ok := parseRetry(value); ok {
			d.retry, d.hasRetry = ms, true
		}
	}
	return nil
}

// parseRetry interprets a retry value of ASCII digits as milliseconds.
func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const maxMs = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms <= maxMs {
			ms = ms*10 + int64(c-'0')
		}
	}
	if ms > maxMs {
		return math.MaxInt64, true
	}
	return time.Duration(ms) * time.Millisecond, true
}

// dispatch runs the dispatch steps at a blank line (§9.2.6) and reports
// whether they produced an event.
func (d *Decoder) dispatch() (Event, bool) {
	d.lastID = d.idBuf
	if len(d.data) == 0 {
		d.typ = d.typ[:0]
		return Event{}, false
	}
	ev := Event{
		Type: "message",
		Data: string(d.data[:len(d.data)-1]),
		ID:   d.lastID,
	}
	if len(d.typ) > 0 {
		if string(d.typ) != d.typCache {
			d.typCache = string(d.typ)
		}
		ev.Type = d.typCache
	}
	d.data = d.data[:0]
	d.typ = d.typ[:0]
	if cap(d.data) > d.max { // do not keep a huge buffer after a huge event
		d.data = nil
	}
	return ev, true
}
