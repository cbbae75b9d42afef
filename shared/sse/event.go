package sse

import "time"

// Event is one server-sent event, as a browser's MessageEvent shows it and as
// [AppendEvent] writes it.
//
// A decoded Event has Type "message" when its block named no type (or an
// empty one), Data with the one trailing line feed removed, and ID set to the
// stream's last event ID string at dispatch time (MessageEvent.lastEventId),
// which may come from an earlier block. The decoder leaves Retry zero; read
// the reconnection time with [Decoder.Retry].
type Event struct {
	// Type is the event type. When encoding, "" and "message" write no
	// event field: both decode to "message".
	Type string
	// Data is the payload. When encoding, every CR, LF and CRLF in it
	// starts a new data line, so it decodes with LF line ends: an event
	// stream cannot carry CR in data, since a CR ends the line.
	Data string
	// ID is the event ID. When encoding, "" writes no id field: the client
	// keeps the ID it had.
	ID string
	// Retry, when positive, is written as the client's reconnection time in
	// whole milliseconds.
	Retry time.Duration
}

// DefaultMaxEventSize is the largest event, and the longest line, a
// [Decoder] accepts unless [Decoder.SetMaxEventSize] says otherwise.
const DefaultMaxEventSize = 1 << 20
