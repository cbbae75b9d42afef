package sse

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// AppendEvent appends ev to dst in the canonical wire form: the fields id,
// event, retry and data in that order, each name followed by ": ", LF line
// ends, and a blank line at the end. Data is split on every CR, LF and CRLF
// into one data line each, so a client reads it back with LF line ends;
// empty Data is written as "data: " and still dispatches an event, because
// every data field appends a line feed to the data buffer, as WHATWG HTML
// §9.2.6 (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
// specifies. A data line is always written.
//
// AppendEvent refuses, with a [*FieldError] and dst unchanged, what would let
// a value inject fields: a Type or ID containing CR or LF, and an ID
// containing U+0000 (which a browser silently ignores). A negative Retry is
// refused too; a positive one is written in whole milliseconds, rounded down.
func AppendEvent(dst []byte, ev Event) ([]byte, error) {
	if err := checkEvent(ev); err != nil {
		return dst, err
	}
	if ev.ID != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, ev.ID...)
		dst = append(dst, '\n')
	}
	if ev.Type != "" && ev.Type != "message" {
		dst = append(dst, "event: "...)
		dst = append(dst, ev.Type...)
		dst = append(dst, '\n')
	}
	if ev.Retry > 0 {
		dst = append(dst, "retry: "...)
		dst = strconv.AppendInt(dst, int64(ev.Retry/time.Millisecond), 10)
		dst = append(dst, '\n')
	}
	dst = appendLines(dst, "data: ", ev.Data)
	return append(dst, '\n'), nil
}

func checkEvent(ev Event) error {
	if strings.ContainsAny(ev.Type, "\r\n") {
		return &FieldError{Field: "event type", Reason: "contains a line break"}
	}
	if strings.ContainsAny(ev.ID, "\r\n") {
		return &FieldError{Field: "id", Reason: "contains a line break"}
	}
	if strings.IndexByte(ev.ID, 0) >= 0 {
		return &FieldError{Field: "id", Reason: "contains U+0000 NULL"}
	}
	if ev.Retry < 0 {
		return &FieldError{Field: "retry", Reason: "is negative"}
	}
	return nil
}

// AppendComment appends text as comment lines, one for each of its lines
// (split on CR, LF and CRLF), followed by a blank line. Clients ignore
// comments; a server writes them between events to keep idle connections
// open through proxies, as WHATWG HTML §9.2.7
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#authoring-notes)
// suggests doing about every 15 seconds. AppendComment(dst, "") appends
// ":\n\n".
func AppendComment(dst []byte, text string) []byte {
	dst = appendLines(dst, ": ", text)
	return append(dst, '\n')
}

// appendLines appends one line of prefix+line for each line of s. Where a
// line is empty the prefix's trailing space is left out for comments (":")
// but kept for data ("data: "), so that an empty data line reads as the
// canonical "data: ".
func appendLines(dst []byte, prefix, s string) []byte {
	for {
		i := strings.IndexAny(s, "\r\n")
		line := s
		if i >= 0 {
			line = s[:i]
		}
		if line == "" && prefix == ": " {
			dst = append(dst, ':')
		} else {
			dst = append(dst, prefix...)
			dst = append(dst, line...)
		}
		dst = append(dst, '\n')
		if i < 0 {
			return dst
		}
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

// Encoder writes events to a stream. After each event or comment it flushes
// the writer when the writer has a Flush method (as an http.ResponseWriter's
// http.Flusher or a *bufio.Writer does), so the client gets it at once.
//
// An Encoder is not safe for concurrent use.
type Encoder struct {
	w   io.Writer
	buf []byte
}

// NewEncoder returns an Encoder that writes to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes ev as [AppendEvent] frames it, in one Write, then flushes.
func (e *Encoder) Encode(ev Event) error {
	b, err := AppendEvent(e.buf[:0], ev)
	if err != nil {
		return err
	}
	return e.write(b)
}

// Comment writes text as [AppendComment] frames it, then flushes.
func (e *Encoder) Comment(text string) error {
	return e.write(AppendComment(e.buf[:0], text))
}

func (e *Encoder) write(b []byte) error {
	e.buf = b
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	switch f := e.w.(type) {
	case interface{ Flush() error }:
		return f.Flush()
	case interface{ Flush() }:
		f.Flush()
	}
	return nil
}
