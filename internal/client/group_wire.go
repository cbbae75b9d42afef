package client

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// The messages the tabs of a [Group] post to each other, each one byte
// string (the browser glue posts it as one Uint8Array): a kind byte, then
// the fields of groupMsg in a fixed order, strings as a uvarint length and
// their bytes. Entries are compact: an event whose type is the previous
// event's, and whose ID is the previous ID or the same epoch a few
// sequence numbers on, costs its data and three or four bytes.

// msgKind is the kind of a group message.
type msgKind byte

const (
	// msgJoin: a member starts, or lost the thread, and asks the holder
	// for the group's state and what came after its position.
	msgJoin msgKind = 'J'
	// msgState: the holder's answer to a join, to that member alone.
	msgState msgKind = 'S'
	// msgBatch: entries the holder's connection delivered.
	msgBatch msgKind = 'B'
	// msgBeat: the holder is alive, and how far it got.
	msgBeat msgKind = 'H'
	// msgTypes: event types a member listens to.
	msgTypes msgKind = 'T'
	// msgBye: the holder steps down; the lock goes to another tab.
	msgBye msgKind = 'Q'
)

// term identifies one tab's tenure as the holder: a number no earlier
// holder had (at least one more than any seen, and the wall clock's
// milliseconds, which every tab of a browser shares) and the tab, which
// breaks ties.
type term struct {
	num uint64
	tab string
}

// less orders terms: a member follows the latest.
func (t term) less(u term) bool {
	if t.num != u.num {
		return t.num < u.num
	}
	return t.tab < u.tab
}

func (t term) isZero() bool { return t.num == 0 && t.tab == "" }

// entryKind is what a relayEntry of a batch is.
type entryKind byte

const (
	entryEvent entryKind = iota + 1 // a dispatched event
	entryID                         // the last event ID changed with no event
	entryOpen                       // the connection opened
	entryError                      // the connection was lost, or an attempt failed
	entryEnd                        // the connection failed for good
)

// relayEntry is one notice of the holder's connection, numbered in its term.
type relayEntry struct {
	kind entryKind
	ev   sse.Event // Type, Data and ID of an event; ID of an ID change
	info ConnInfo  // of an error or the end
}

// id returns the stream's last event ID after e, and whether e sets one.
func (e *relayEntry) id() (string, bool) {
	switch e.kind {
	case entryEvent, entryID:
		return e.ev.ID, true
	}
	return "", false
}

func (e *relayEntry) size() int {
	return EventSize(e.ev.Type, e.ev.ID, e.ev.Data) + len(e.info.Reason) + len(e.info.Body) + len(e.info.Err) + 8
}

// ConnInfo is what a group relays of a connection error: the fields of the
// browser client's error type, which this package does not know. Code
// names a sentinel error the glue recognises (0: none); Err is the text of
// any other.
type ConnInfo struct {
	Closed bool
	Status int
	Reason string
	Body   string
	Delay  time.Duration
	Code   uint8
	Err    string
}

// groupMsg is a decoded group message. Which fields count depends on the
// kind; the others are zero.
type groupMsg struct {
	kind msgKind
	from string // the sender's tab; for a holder's messages, also its term's tab
	to   string // the only tab the message is for; "" for all
	term uint64 // the holder's term number (state, batch, beat, bye)
	// n is the index in the term of the first entry (batch), or of the
	// next entry the holder will number (state, beat).
	n uint64
	// pos is the stream position before the first entry (batch), the
	// group's position (state, beat) or the member's (join).
	pos     string
	cursor  bool // join: pos is the member's own, to resume after
	open    bool // state, beat: the holder's connection is open
	serve   bool // state: entries are what came after the joiner's pos
	hb      time.Duration
	origin  string
	hello   *sse.Event // state: the hello of the holder's connection
	lastErr *ConnInfo  // state: the error since which it has not opened
	types   []string
	entries []relayEntry
}

func (m *groupMsg) holder() term { return term{num: m.term, tab: m.from} }

const (
	flagCursor = 1 << iota
	flagOpen
	flagServe
	flagHello
	flagErr
)

// Entry header bits: the kind in the low three, then how the type and the
// ID are written.
const (
	entryKindMask = 0x07
	entrySameType = 0x08 // the type of the previous event
	entryIDMask   = 0x30
	entryIDFull   = 0x00 // the ID as a string
	entryIDSame   = 0x10 // the previous ID
	entryIDNext   = 0x20 // the previous ID's epoch, its sequence plus a uvarint
)

// appendMsg appends m's encoding to b.
func appendMsg(b []byte, m *groupMsg) []byte {
	b = append(b, byte(m.kind))
	b = appendString(b, m.from)
	b = appendString(b, m.to)
	b = binary.AppendUvarint(b, m.term)
	b = binary.AppendUvarint(b, m.n)
	b = appendString(b, m.pos)
	var flags byte
	if m.cursor {
		flags |= flagCursor
	}
	if m.open {
		flags |= flagOpen
	}
	if m.serve {
		flags |= flagServe
	}
	if m.hello != nil {
		flags |= flagHello
	}
	if m.lastErr != nil {
		flags |= flagErr
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(max(m.hb, 0)/time.Millisecond))
	b = appendString(b, m.origin)
	if m.hello != nil {
		b = appendString(b, m.hello.ID)
		b = appendString(b, m.hello.Data)
	}
	if m.lastErr != nil {
		b = appendInfo(b, m.lastErr)
	}
	b = binary.AppendUvarint(b, uint64(len(m.types)))
	for _, t := range m.types {
		b = appendString(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(m.entries)))
	prevID, prevType := m.pos, ""
	for i := range m.entries {
		e := &m.entries[i]
		head := byte(e.kind)
		switch e.kind {
		case entryEvent, entryID:
			if e.kind == entryEvent && i > 0 && e.ev.Type == prevType {
				head |= entrySameType
			}
			var delta uint64
			switch {
			case e.ev.ID == prevID:
				head |= entryIDSame
			default:
				if d, ok := seqDelta(prevID, e.ev.ID); ok {
					head |= entryIDNext
					delta = d
				}
			}
			b = append(b, head)
			if e.kind == entryEvent && head&entrySameType == 0 {
				b = appendString(b, e.ev.Type)
			}
			switch head & entryIDMask {
			case entryIDFull:
				b = appendString(b, e.ev.ID)
			case entryIDNext:
				b = binary.AppendUvarint(b, delta)
			}
			if e.kind == entryEvent {
				b = appendString(b, e.ev.Data)
				prevType = e.ev.Type
			}
			prevID = e.ev.ID
		case entryError, entryEnd:
			b = append(b, head)
			b = appendInfo(b, &e.info)
		default:
			b = append(b, head)
		}
	}
	return b
}

// seqDelta returns how far the ssekit ID next is after prev in the same
// epoch, when it is after it and writing it as a delta gives the same
// string back.
func seqDelta(prev, next string) (uint64, bool) {
	p, ok := parsePosition(prev)
	if !ok {
		return 0, false
	}
	n, ok := parsePosition(next)
	if !ok || n.epoch != p.epoch || n.seq <= p.seq || formatPosition(n) != next {
		return 0, false
	}
	return n.seq - p.seq, true
}

func formatPosition(p position) string {
	b := make([]byte, 0, len(p.epoch)+21)
	b = append(b, p.epoch...)
	b = append(b, '-')
	return string(strconv.AppendUint(b, p.seq, 10))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendInfo(b []byte, c *ConnInfo) []byte {
	var flags byte
	if c.Closed {
		flags = 1
	}
	b = append(b, flags, c.Code)
	b = binary.AppendUvarint(b, uint64(max(c.Status, 0)))
	b = appendString(b, c.Reason)
	b = appendString(b, c.Body)
	b = binary.AppendUvarint(b, uint64(max(c.Delay, 0)/time.Millisecond))
	return appendString(b, c.Err)
}

// errBadMsg is the error of a message that does not decode: another
// version of ssekit, or anything else a page of the origin posted on the
// channel. Such messages are ignored.
var errBadMsg = errors.New("client: malformed group message")

// maxMsgCount bounds the counts a message declares, so that a malformed
// one cannot make the decoder allocate much before it fails.
const maxMsgCount = 1 << 20

// msgReader reads the fields of a message.
type msgReader struct {
	b   []byte
	err error
}

func (r *msgReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errBadMsg
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *msgReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadMsg
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *msgReader) string() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errBadMsg
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *msgReader) count() int {
	n := r.uvarint()
	if n > maxMsgCount || n > uint64(len(r.b)) { // every item takes a byte at least
		r.err = errBadMsg
		return 0
	}
	return int(n)
}

func (r *msgReader) millis() time.Duration {
	ms := r.uvarint()
	if ms > uint64(math.MaxInt64/time.Millisecond) {
		r.err = errBadMsg
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

func (r *msgReader) info() ConnInfo {
	var c ConnInfo
	c.Closed = r.byte()&1 != 0
	c.Code = r.byte()
	status := r.uvarint()
	if status > math.MaxInt32 {
		r.err = errBadMsg
	}
	c.Status = int(status)
	c.Reason = r.string()
	c.Body = r.string()
	c.Delay = r.millis()
	c.Err = r.string()
	return c
}

// decodeMsg decodes a message that appendMsg encoded.
func decodeMsg(b []byte) (*groupMsg, error) {
	r := &msgReader{b: b}
	m := &groupMsg{kind: msgKind(r.byte())}
	switch m.kind {
	case msgJoin, msgState, msgBatch, msgBeat, msgTypes, msgBye:
	default:
		return nil, errBadMsg
	}
	m.from = r.string()
	m.to = r.string()
	m.term = r.uvarint()
	m.n = r.uvarint()
	m.pos = r.string()
	flags := r.byte()
	m.cursor = flags&flagCursor != 0
	m.open = flags&flagOpen != 0
	m.serve = flags&flagServe != 0
	m.hb = r.millis()
	m.origin = r.string()
	if flags&flagHello != 0 {
		m.hello = &sse.Event{Type: schema.HelloEvent}
		m.hello.ID = r.string()
		m.hello.Data = r.string()
	}
	if flags&flagErr != 0 {
		c := r.info()
		m.lastErr = &c
	}
	if n := r.count(); n > 0 {
		m.types = make([]string, n)
		for i := range m.types {
			m.types[i] = r.string()
		}
	}
	if n := r.count(); n > 0 {
		m.entries = make([]relayEntry, n)
		prevID, prevType := m.pos, ""
		for i := range m.entries {
			e := &m.entries[i]
			head := r.byte()
			e.kind = entryKind(head & entryKindMask)
			switch e.kind {
			case entryEvent, entryID:
				if e.kind == entryEvent {
					if head&entrySameType != 0 {
						if i == 0 {
							r.err = errBadMsg
						}
						e.ev.Type = prevType
					} else {
						e.ev.Type = r.string()
					}
				}
				switch head & entryIDMask {
				case entryIDFull:
					e.ev.ID = r.string()
				case entryIDSame:
					e.ev.ID = prevID
				case entryIDNext:
					p, ok := parsePosition(prevID)
					d := r.uvarint()
					if !ok || d == 0 || p.seq > math.MaxUint64-d {
						r.err = errBadMsg
						break
					}
					p.seq += d
					e.ev.ID = formatPosition(p)
				default:
					r.err = errBadMsg
				}
				if e.kind == entryEvent {
					e.ev.Data = r.string()
					prevType = e.ev.Type
				}
				prevID = e.ev.ID
			case entryError, entryEnd:
				e.info = r.info()
			case entryOpen:
			default:
				r.err = errBadMsg
			}
			if r.err != nil {
				break
			}
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errBadMsg
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}
