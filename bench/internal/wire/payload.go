// Package wire holds what the harness puts on the wire and reads back: the
// 100-byte JSON payload with a sequence number and a send timestamp, and a
// raw HTTP/1.1 event-stream reader with no client library in the way.
package wire

import (
	"bytes"
	"strconv"
)

// PayloadSize is the size of every benchmark event's data.
const PayloadSize = 100

// Payload returns a new 100-byte JSON object carrying seq and t (Unix
// nanoseconds, the send time):
//
//	{"seq":12,"t":1732160000000000000,"pad":"xxxx…"}
func Payload(seq uint64, t int64) []byte { return TimedPayload(seq, t, 0) }

// TimedPayload is Payload with two times: t, when the event was due (a
// publisher at a fixed rate), and c, when the publish call began; c is
// left out when 0. The difference is how long the publisher was held up by
// earlier publish calls.
//
//	{"seq":12,"t":1732160000000000000,"c":1732160000000100000,"pad":"x…"}
func TimedPayload(seq uint64, t, c int64) []byte {
	b := make([]byte, 0, PayloadSize)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, t, 10)
	if c != 0 {
		b = append(b, `,"c":`...)
		b = strconv.AppendInt(b, c, 10)
	}
	b = append(b, `,"pad":"`...)
	for len(b) < PayloadSize-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

var (
	seqKey = []byte(`"seq":`)
	tKey   = []byte(`"t":`)
	cKey   = []byte(`,"c":`)
	idKey  = []byte("id: ")
)

// Frame is what the harness reads from one event of the stream.
type Frame struct {
	Seq uint64 // the payload's seq
	T   int64  // the payload's send time, Unix nanoseconds
	ID  []byte // the id field, aliasing the frame; nil without one
}

// ParseFrame reads one event block (without its blank line). ok is false
// for a block with no payload (a comment, the hello event).
func ParseFrame(b []byte) (f Frame, ok bool) {
	i := bytes.Index(b, tKey)
	if i < 0 {
		return Frame{}, false
	}
	f.T, i = digits(b, i+len(tKey))
	if i < 0 {
		return Frame{}, false
	}
	if j := bytes.Index(b, seqKey); j >= 0 {
		s, _ := digits(b, j+len(seqKey))
		f.Seq = uint64(s)
	}
	if bytes.HasPrefix(b, idKey) {
		f.ID = line(b[len(idKey):])
	} else if j := bytes.Index(b, []byte("\nid: ")); j >= 0 {
		f.ID = line(b[j+5:])
	}
	return f, true
}

// SendTimes returns the payload's times in block b (c is t when the
// payload has no c), or false. It is ParseFrame for the hot path of the
// load generator.
func SendTimes(b []byte) (t, c int64, ok bool) {
	i := bytes.Index(b, tKey)
	if i < 0 {
		return 0, 0, false
	}
	t, i = digits(b, i+len(tKey))
	if i < 0 {
		return 0, 0, false
	}
	c = t
	if bytes.HasPrefix(b[i:], cKey) {
		if v, j := digits(b, i+len(cKey)); j >= 0 {
			c = v
		}
	}
	return t, c, true
}

// Seq returns the payload's seq in block b, or false. It is ParseFrame for
// the hot path of the load generator's check that every event arrives
// once, in order.
func Seq(b []byte) (uint64, bool) {
	i := bytes.Index(b, seqKey)
	if i < 0 {
		return 0, false
	}
	v, j := digits(b, i+len(seqKey))
	return uint64(v), j >= 0
}

func digits(b []byte, i int) (int64, int) {
	start := i
	var v int64
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		v = v*10 + int64(b[i]-'0')
	}
	if i == start {
		return 0, -1
	}
	return v, i
}

func line(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}
