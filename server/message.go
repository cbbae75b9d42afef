package server

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// Message is one event on its way to a [Broker]: its lines as subscribers
// read them (the event type, the data, the blank line that ends it), with
// room in front for the id field that the broker's sequence number makes.
// [Publish] builds one per event; a broker either frames it in place with
// [Message.Frame], or stores [Message.Body] elsewhere (JetStream, Redis) and
// frames what it reads back with [NewFrame]. Either way no broker writes
// SSE itself, and a subscriber receives bytes the server wrote.
type Message struct {
	buf    []byte // room for the id field, then the body
	body   int    // where the body starts in buf
	framed bool
}

// NewMessage encodes v with the event's codec and frames it once, with room
// for the id field of broker b's sequence numbers, for b.Publish.
// [Publish] is NewMessage followed by b.Publish.
func NewMessage[T any](b Broker, ev schema.Event[T], v T) (*Message, error) {
	data, err := ev.Encode(v)
	if err != nil {
		return nil, err
	}
	return newMessage(b.Epoch(), ev.Name(), data)
}

// newMessage builds a message of type typ with data, with room in front
// for an id field in epoch.
func newMessage(epoch, typ string, data []byte) (*Message, error) {
	if typ == "" {
		return nil, errors.New("server: publish: empty event type")
	}
	if bytes.HasPrefix([]byte(typ), []byte(schema.ReservedPrefix)) {
		return nil, fmt.Errorf("server: publish: event type %q is reserved for the server", typ)
	}
	room := idFieldLen(epoch, ^uint64(0))
	buf := make([]byte, room, room+len("event: \ndata: \n\n")+len(typ)+len(data)+8)
	// AppendEvent only reads the data, during the call: no copy of it.
	buf, err := sse.AppendEvent(buf, sse.Event{Type: typ, Data: unsafe.String(unsafe.SliceData(data), len(data))})
	if err != nil {
		return nil, fmt.Errorf("server: publish: %w", err)
	}
	return &Message{buf: buf, body: room}, nil
}

// Body returns the event's lines without an id field: what a broker that
// stores events elsewhere stores, and hands back to [NewFrame] when it
// reads them. The bytes must not be modified.
func (m *Message) Body() []byte { return m.buf[m.body:] }

// Frame returns the frame of the message as the event seq of epoch: the id
// field, written in place in front of the body, then the body. A broker
// calls it once, when it has given the message its sequence number, and
// hands the same bytes to every subscriber and every replay. It panics if
// called again.
func (m *Message) Frame(epoch string, seq uint64) Frame {
	if m.framed {
		panic("server: Message.Frame called twice")
	}
	m.framed = true
	n := idFieldLen(epoch, seq)
	if n > m.body { // an epoch longer than the one the room was made for
		f, _ := NewFrame(epoch, seq, m.Body())
		return f
	}
	start := m.body - n
	appendIDField(m.buf[start:start], epoch, seq)
	return Frame{Seq: seq, Bytes: m.buf[start:]}
}

// NewFrame returns the frame of the event seq of epoch whose body a broker
// stored elsewhere (see [Message.Body]): the id field, then the body, in a
// new slice. It checks the body first, as a browser would read it, since
// the bytes come from outside the process: it must be exactly one event
// with LF line ends and a data field, without an id field (the broker's
// is the ID) and of no reserved event type (those are the server's).
func NewFrame(epoch string, seq uint64, body []byte) (Frame, error) {
	if err := checkBody(body); err != nil {
		return Frame{}, err
	}
	b := make([]byte, 0, idFieldLen(epoch, seq)+len(body))
	b = appendIDField(b, epoch, seq)
	return Frame{Seq: seq, Bytes: append(b, body...)}, nil
}

// idFieldLen returns the length of the id field of the event seq of epoch.
func idFieldLen(epoch string, seq uint64) int {
	digits := 1
	for s := seq; s >= 10; s /= 10 {
		digits++
	}
	return len("id: ") + len(epoch) + len("-") + digits + len("\n")
}

func appendIDField(dst []byte, epoch string, seq uint64) []byte {
	dst = append(dst, "id: "...)
	dst = append(dst, epoch...)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, '\n')
}

// checkBody reports whether body is what [NewFrame] takes: exactly one
// event as sse.AppendEvent writes it, with LF line ends, a data field, no
// id field and no reserved event type. Such a body reaches every client as
// one event with the broker's ID, whatever its bytes.
func checkBody(body []byte) error {
	if len(body) < 2 || body[len(body)-1] != '\n' || body[len(body)-2] != '\n' {
		return errors.New("server: event body does not end with a blank line")
	}
	// A CR ends a line for a browser (WHATWG HTML §9.2.5): CR and CRLF
	// could end the event early or start another one.
	if bytes.IndexByte(body, '\r') >= 0 {
		return errors.New("server: event body contains a CR; lines end with LF alone")
	}
	hasData := false
	for rest := body[:len(body)-1]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i]
		rest = rest[i+1:]
		if len(line) == 0 {
			return errors.New("server: event body holds more than one event (a blank line before its end)")
		}
		// The field name and value as a browser reads them (WHATWG HTML
		// §9.2.6): up to the first colon, then one leading space dropped.
		name, value, _ := bytes.Cut(line, []byte(":"))
		value, _ = bytes.CutPrefix(value, []byte(" "))
		switch string(name) {
		case "id":
			return errors.New("server: event body has an id field; the broker assigns IDs")
		case "event":
			if bytes.HasPrefix(value, []byte(schema.ReservedPrefix)) {
				return fmt.Errorf("server: event type %q is reserved for the server", value)
			}
		case "data":
			hasData = true
		}
	}
	if !hasData {
		return errors.New("server: event body has no data field, so it is no event")
	}
	return nil
}
