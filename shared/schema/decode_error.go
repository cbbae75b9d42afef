package schema

import (
	"strconv"
	"unicode/utf8"
)

// maxErrorData is how many bytes of the data a [DecodeError] keeps.
const maxErrorData = 64

// DecodeError reports event data that the event's codec could not decode.
// The stream it came from is intact: a client reports the error and goes on
// with the next event.
type DecodeError struct {
	Event string // the event name
	// Data is the start of the data: all of it when Len is at most 64
	// bytes, otherwise at most its first 64 bytes, cut at a UTF-8 boundary.
	// It is a copy; the caller's buffer is not retained.
	Data string
	Len  int   // the length of the whole data in bytes
	Err  error // the codec's error
}

func newDecodeError(event string, data []byte, err error) *DecodeError {
	head := data
	if len(head) > maxErrorData {
		head = head[:maxErrorData]
		// Drop a UTF-8 sequence the cut left incomplete.
		for i := len(head) - 1; i >= 0 && i > len(head)-utf8.UTFMax; i-- {
			if utf8.RuneStart(head[i]) {
				if !utf8.FullRune(head[i:]) {
					head = head[:i]
				}
				break
			}
		}
	}
	return &DecodeError{Event: event, Data: string(head), Len: len(data), Err: err}
}

// Error returns a message naming the event, the codec's error and the start
// of the data, as in
//
//	schema: decode "price.tick": unexpected end of JSON input (data "{\"p\":")
func (e *DecodeError) Error() string {
	msg := "schema: decode " + strconv.Quote(e.Event)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	msg += " (data " + strconv.Quote(e.Data)
	if e.Len > len(e.Data) {
		msg += "... " + strconv.Itoa(e.Len) + " bytes"
	}
	return msg + ")"
}

// Unwrap returns the codec's error, so errors.As finds, say, a
// *json.SyntaxError.
func (e *DecodeError) Unwrap() error { return e.Err }
