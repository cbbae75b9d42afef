package sse

import "strconv"

// FieldError reports a field that cannot be written without changing the
// stream's meaning, such as an event type with a line break in it, which a
// client would read as a second, injected field.
type FieldError struct {
	Field  string // "event type", "id" or "retry"
	Reason string // what is wrong with it
}

func (e *FieldError) Error() string { return "sse: " + e.Field + " " + e.Reason }

// LimitError reports an event, or a single line, larger than the decoder's
// limit (see [Decoder.SetMaxEventSize]). The decoder does not buffer past the
// limit.
type LimitError struct {
	Limit int // the limit in bytes
}

func (e *LimitError) Error() string {
	return "sse: event exceeds the " + strconv.Itoa(e.Limit) + "-byte limit"
}
