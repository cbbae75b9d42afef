// Package sse reads and writes the Server-Sent Events wire format
// (text/event-stream) exactly as the WHATWG HTML standard defines it and
// browsers implement it.
//
// Writing an event is one call:
//
//	frame, err := sse.AppendEvent(nil, sse.Event{ID: "42", Type: "update", Data: "x"})
//	// frame is "id: 42\nevent: update\ndata: x\n\n"
//
// and reading events is a loop over a [Decoder]:
//
//	d := sse.NewDecoder(resp.Body)
//	for {
//		ev, err := d.Next()
//		if err != nil {
//			break // io.EOF at the end of the stream
//		}
//		fmt.Println(ev.Type, ev.Data, ev.ID)
//	}
//
// The package uses only the standard library and no build tags: the same
// decoder runs in servers, in tests and in the browser's WebAssembly client.
//
// # Decoding
//
// [Decoder] follows the browser's parsing and dispatch steps (HTML §9.2.6),
// not a reading of the grammar: one leading byte order mark is stripped; CR,
// LF and CRLF end lines, also when a CRLF is split between two reads; invalid
// UTF-8 becomes U+FFFD the way TextDecoder replaces it; one space after the
// colon is removed; a line without a colon is a field with an empty value; a
// blank line commits the last event ID even when no event is dispatched; an
// id containing U+0000 is ignored; retry takes ASCII digits only; and an
// event that the stream never finished with a blank line is dropped. Each
// event is returned as soon as its blank line is read. Memory is bounded by
// [Decoder.SetMaxEventSize].
//
// # Encoding
//
// [AppendEvent] and [Encoder] write the canonical form: fields in the order
// id, event, retry, data, a space after each colon, LF line ends, and data
// split on every line end. They refuse an event type or ID that would inject
// a field (a line break) or that a browser would ignore (an ID with U+0000).
// Comments ([AppendComment], [Encoder.Comment]) keep idle connections open.
package sse
