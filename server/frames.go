package server

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// appendReset appends the reserved reset event (schema.ResetEvent) with
// the given reason. id is the position live delivery resumes from; it
// becomes the client's Last-Event-ID, so that a reconnection after the reset
// does not reset again.
func appendReset(dst []byte, id, reason string) []byte {
	data, _ := schema.ResetDefinition().Encode(schema.Reset{Reason: reason}) // a struct of one string cannot fail
	out, err := sse.AppendEvent(dst, sse.Event{ID: id, Type: schema.ResetEvent, Data: string(data)})
	if err != nil {
		panic("server: reset frame: " + err.Error()) // id comes from the broker's own EventID
	}
	return out
}

// helloData returns the data of the hello event: the registry's fingerprint
// and the heartbeat interval.
func helloData(reg *schema.Registry, heartbeat time.Duration) string {
	var hello schema.Hello
	if reg != nil {
		hello.Fingerprint = reg.Fingerprint()
		hello.Events = reg.Names()
	}
	hello.Heartbeat = heartbeat.Milliseconds()
	data, err := schema.HelloDefinition().Encode(hello)
	if err != nil {
		panic("server: hello frame: " + err.Error())
	}
	return string(data)
}

// appendHello appends the first frame of a connection: the reconnection
// time and the hello event, with id as its id field when id is not "" (the
// position the client resumes from should the stream end right after it).
func appendHello(dst []byte, retry time.Duration, data, id string) []byte {
	frame, err := sse.AppendEvent(dst, sse.Event{ID: id, Type: schema.HelloEvent, Data: data, Retry: retry})
	if err != nil {
		panic("server: hello frame: " + err.Error()) // id is a checked EventID
	}
	return frame
}

// The two forms of a heartbeat: a comment, which EventSource hides from the
// page, and the reserved event, for clients that watch for silence.
var (
	heartbeatComment = []byte(":\n\n")
	heartbeatEvent   = []byte("event: " + schema.HeartbeatEvent + "\ndata: \n\n")
)

// CheckFrame reports whether frame is what [Broker.Publish] takes: exactly
// one event as sse.AppendEvent writes it, with LF line ends, a data field,
// no id field (the broker adds its own) and no reserved event type (those
// are the server's). Such a frame reaches every client as one event with
// the broker's ID, whatever its bytes. Broker implementations call it so
// that a malformed frame is an error to its publisher rather than a broken
// or forged stream for every subscriber.
func CheckFrame(frame []byte) error {
	if len(frame) < 2 || frame[len(frame)-1] != '\n' || frame[len(frame)-2] != '\n' {
		return errors.New("server: publish: frame does not end with a blank line")
	}
	// A CR ends a line for a browser (WHATWG HTML §9.2.5): CR and CRLF
	// could end the event early or start another one.
	if bytes.IndexByte(frame, '\r') >= 0 {
		return errors.New("server: publish: frame contains a CR; lines end with LF alone")
	}
	hasData := false
	for rest := frame[:len(frame)-1]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i]
		rest = rest[i+1:]
		if len(line) == 0 {
			return errors.New("server: publish: frame holds more than one event (a blank line before its end)")
		}
		// The field name and value as a browser reads them (WHATWG HTML
		// §9.2.6): up to the first colon, then one leading space dropped.
		name, value, _ := bytes.Cut(line, []byte(":"))
		value, _ = bytes.CutPrefix(value, []byte(" "))
		switch string(name) {
		case "id":
			return errors.New("server: publish: frame has an id field; the broker assigns IDs")
		case "event":
			if bytes.HasPrefix(value, []byte(schema.ReservedPrefix)) {
				return fmt.Errorf("server: publish: event type %q is reserved for the server", value)
			}
		case "data":
			hasData = true
		}
	}
	if !hasData {
		return errors.New("server: publish: frame has no data field, so it is no event")
	}
	return nil
}

// validLastEventID reports whether id can be written back as an id field.
func validLastEventID(id string) bool { return !strings.ContainsAny(id, "\r\n\x00") }
