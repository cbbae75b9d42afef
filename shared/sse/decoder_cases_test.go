package sse_test

import (
	"strings"
	"time"

	"github.com/ssekit/ssekit/shared/sse"
)

// msg is a dispatched event of the default type "message".
func msg(data, id string) sse.Event {
	return sse.Event{Type: "message", Data: data, ID: id}
}

// typed is a dispatched event with an explicit type.
func typed(typ, data, id string) sse.Event {
	return sse.Event{Type: typ, Data: data, ID: id}
}

// decodeCase is one row of the decoder table. The groups of rows follow
// WHATWG HTML §9.2.5
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream)
// and WHATWG HTML §9.2.6
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
// and the web-platform-tests in eventsource/ (WPT) that check browsers
// against them; the rows taken from a WPT test say so.
type decodeCase struct {
	name     string
	in       string
	seedID   string // passed to SetLastEventID when non-empty
	want     []sse.Event
	lastID   string        // LastEventID after io.EOF
	retry    time.Duration // Retry after io.EOF
	hasRetry bool
}

var longComment = strings.Repeat("x", 2049)

var decodeCases = []decodeCase{
	// §9.2.5–9.2.6 framing, fields and dispatch.
	{name: "empty input", in: ""},
	{name: "single event", in: "data: hello\n\n", want: []sse.Event{msg("hello", "")}},
	{name: "no space after colon", in: "data:hello\n\n", want: []sse.Event{msg("hello", "")}},
	{name: "only one space removed", in: "data:  hello\n\n", want: []sse.Event{msg(" hello", "")}},
	{name: "tab is not removed", in: "data:\thello\n\n", want: []sse.Event{msg("\thello", "")}},
	{name: "trailing space kept", in: "data: hello \n\n", want: []sse.Event{msg("hello ", "")}},
	{name: "split at first colon", in: "data: a:b: c\n\n", want: []sse.Event{msg("a:b: c", "")}},
	{name: "value is a colon", in: "data::\n\n", want: []sse.Event{msg(":", "")}},
	{name: "two data lines", in: "data: a\ndata: b\n\n", want: []sse.Event{msg("a\nb", "")}},
	{name: "empty data dispatches", in: "data:\n\n", want: []sse.Event{msg("", "")}},
	{name: "data space only dispatches", in: "data: \n\n", want: []sse.Event{msg("", "")}},
	{name: "bare data dispatches empty", in: "data\n\n", want: []sse.Event{msg("", "")}},
	{name: "bare data twice", in: "data\ndata\n\n", want: []sse.Event{msg("\n", "")}},
	{name: "bare data three times", in: "data\ndata\ndata\n\n", want: []sse.Event{msg("\n\n", "")}},
	{name: "one trailing LF removed", in: "data: x\ndata:\n\n", want: []sse.Event{msg("x\n", "")}},
	{name: "no data no event", in: "event: x\n\n"},
	{name: "blank lines only", in: "\n\n\r\n\r\r"},
	{name: "extra blank lines", in: "data: a\n\n\n\ndata: b\n\n", want: []sse.Event{msg("a", ""), msg("b", "")}},
	{name: "NUL in data", in: "data: a\x00b\n\n", want: []sse.Event{msg("a\x00b", "")}},
	{name: "data NUL then blank lines", in: "data:\x00\n\n\n\n", want: []sse.Event{msg("\x00", "")}},

	// §9.2.6 comments and unknown fields.
	{name: "comments ignored", in: ": hi\ndata: a\n: there\ndata: b\n\n", want: []sse.Event{msg("a\nb", "")}},
	{name: "comment block", in: ":\n\n"},
	{name: "comment looks like data", in: ":data: x\n\n"},
	{name: "unknown fields ignored", in: "foo: bar\ndata: x\nfoo\n\n", want: []sse.Event{msg("x", "")}},
	{name: "names are case-sensitive", in: "Data: x\n\nDATA: y\n\nEvent: e\ndata: z\n\n", want: []sse.Event{msg("z", "")}},
	{name: "space before colon", in: "data : x\n\n"},
	{name: "space before name", in: " data: x\n\n"},
	{
		// WPT format-comments.
		name: "wpt comments",
		in:   "data:1\r:\x00\n:\r\ndata:2\n:" + longComment + "\rdata:3\n:data:fail\r:" + longComment + "\ndata:4\n\n",
		want: []sse.Event{msg("1\n2\n3\n4", "")},
	},
	{
		// WPT format-field-parsing.
		name: "wpt field parsing",
		in:   "data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
		want: []sse.Event{msg("\x00\n 2\n1\n3\n\n4", "")},
	},
	{
		// WPT format-field-unknown.
		name: "wpt unknown fields",
		in:   "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
		want: []sse.Event{msg("test\n\ntest", "")},
	},
	{
		// WPT format-leading-space.
		name: "wpt leading space",
		in:   "data:\ttest\rdata: \ndata:test\n\n",
		want: []sse.Event{msg("\ttest\n\ntest", "")},
	},
	{
		// WPT format-newlines.
		name: "wpt newlines",
		in:   "data:test\r\ndata\ndata:test\r\n\r\n",
		want: []sse.Event{msg("test\n\ntest", "")},
	},

	// §9.2.6 end of the stream: pending data is discarded.
	{name: "unterminated line", in: "data: x"},
	{name: "unterminated block", in: "data: a\n\ndata: b\n", want: []sse.Event{msg("a", "")}},
	{name: "unterminated block CRLF", in: "data: a\r\n"},
	{name: "unterminated block CR", in: "data: a\r"},
	{name: "final lone CR blank line", in: "data: a\n\r", want: []sse.Event{msg("a", "")}},
	{name: "final CR CR", in: "data: a\r\r", want: []sse.Event{msg("a", "")}},

	// §9.2.6 line ends: CRLF, a lone LF or a lone CR, which ends the line at
	// once.
	{name: "CRLF", in: "data: a\r\ndata: b\r\n\r\n", want: []sse.Event{msg("a\nb", "")}},
	{name: "CR", in: "data: a\rdata: b\r\r", want: []sse.Event{msg("a\nb", "")}},
	{name: "mixed line ends", in: "data: a\rdata: b\ndata: c\r\ndata: d\n\r\n", want: []sse.Event{msg("a\nb\nc\nd", "")}},
	{name: "LF CR is two line ends", in: "data: a\n\rdata: b\n\n", want: []sse.Event{msg("a", ""), msg("b", "")}},
	{name: "CR CRLF is two line ends", in: "data: a\r\r\ndata: b\n\n", want: []sse.Event{msg("a", ""), msg("b", "")}},
	{name: "CRLF CRLF", in: "data: a\r\n\r\ndata: b\r\n\r\n", want: []sse.Event{msg("a", ""), msg("b", "")}},
	{name: "CR events", in: "id: 1\revent: e\rdata: a\r\rdata: b\r\r", want: []sse.Event{typed("e", "a", "1"), msg("b", "1")}, lastID: "1"},

	// §9.2.6 event type; every blank line resets it, even in a block without
	// data.
	{name: "event type", in: "event: add\ndata: 1\n\n", want: []sse.Event{typed("add", "1", "")}},
	{name: "empty type is message", in: "event:\ndata: 1\n\n", want: []sse.Event{msg("1", "")}},
	{name: "space type is message", in: "event: \ndata: 1\n\n", want: []sse.Event{msg("1", "")}},
	{name: "bare event is message", in: "event\ndata: 1\n\n", want: []sse.Event{msg("1", "")}},
	{name: "explicit message type", in: "event: message\ndata: 1\n\n", want: []sse.Event{msg("1", "")}},
	{name: "type reset after dispatch", in: "event: add\ndata: 1\n\ndata: 2\n\n", want: []sse.Event{typed("add", "1", ""), msg("2", "")}},
	{name: "type reset by block without data", in: "event: ping\n\ndata: {}\n\n", want: []sse.Event{msg("{}", "")}},
	{name: "last type wins", in: "event: a\nevent: b\ndata: x\n\n", want: []sse.Event{typed("b", "x", "")}},
	{name: "type keeps second space", in: "event:  add\ndata: x\n\n", want: []sse.Event{typed(" add", "x", "")}},
	{name: "type after data", in: "data: x\nevent: late\n\n", want: []sse.Event{typed("late", "x", "")}},
	{name: "NUL in type", in: "event: a\x00\ndata: x\n\n", want: []sse.Event{typed("a\x00", "x", "")}},

	// §9.2.6 last event ID: every blank line commits it, even in a block
	// without data; an id containing U+0000 is ignored (WPT
	// eventsource/format-field-id-null); an id in an unfinished block is not
	// committed (WPT eventsource/format-data-before-final-empty-line); a
	// non-ASCII id is kept as is (WPT eventsource/format-field-id).
	{name: "id", in: "id: 1\ndata: a\n\n", want: []sse.Event{msg("a", "1")}, lastID: "1"},
	{name: "id persists", in: "id: 1\ndata: a\n\ndata: b\n\n", want: []sse.Event{msg("a", "1"), msg("b", "1")}, lastID: "1"},
	{name: "id after data", in: "data: a\nid: 2\n\n", want: []sse.Event{msg("a", "2")}, lastID: "2"},
	{name: "last id wins", in: "id: 1\nid: 2\ndata: x\n\n", want: []sse.Event{msg("x", "2")}, lastID: "2"},
	{name: "id-only block commits", in: "id: 99\n\n", lastID: "99"},
	{name: "id-only block then event", in: "id: 99\n\ndata: a\n\n", want: []sse.Event{msg("a", "99")}, lastID: "99"},
	{name: "empty id resets", in: "id: 1\ndata: a\n\nid:\ndata: b\n\n", want: []sse.Event{msg("a", "1"), msg("b", "")}},
	{name: "bare id resets", in: "id: 1\n\nid\n\n"},
	{name: "id with NUL ignored", in: "id: a\x00b\ndata: x\n\n", want: []sse.Event{msg("x", "")}},
	{name: "id with NUL keeps previous", in: "id: 1\n\nid: 2\x00\ndata: x\n\n", want: []sse.Event{msg("x", "1")}, lastID: "1"},
	{name: "id NUL in same block", in: "id: 1\nid: \x00\ndata: x\n\n", want: []sse.Event{msg("x", "1")}, lastID: "1"},
	{name: "id in unfinished block", in: "id: 1\ndata: a\n\nid: 2\ndata: b\n", want: []sse.Event{msg("a", "1")}, lastID: "1"},
	{name: "id in unfinished block only", in: "id: 5\n"},
	{name: "id unterminated line", in: "id: 5"},
	{name: "UTF-8 id", in: "id: \xE2\x80\xA6\ndata: x\n\n", want: []sse.Event{msg("x", "…")}, lastID: "…"},
	{name: "id keeps spaces", in: "id:  7 \n\n", lastID: " 7 "},
	{name: "id is case-sensitive", in: "ID: 1\n\nId: 2\n\n"},
	{name: "id invalid UTF-8", in: "id: \xFF\n\n", lastID: "\uFFFD"},

	// SetLastEventID seeding: browsers carry the ID into the response after a
	// reconnection (WPT eventsource/format-field-id-2), although §9.2.6 gives
	// each stream fresh buffers.
	{name: "seeded id reported", seedID: "abc", in: "data: x\n\n", want: []sse.Event{msg("x", "abc")}, lastID: "abc"},
	{name: "seeded id reset", seedID: "abc", in: "id\ndata: x\n\n", want: []sse.Event{msg("x", "")}},
	{name: "seeded id kept on NUL", seedID: "abc", in: "id: \x00\ndata: x\n\n", want: []sse.Event{msg("x", "abc")}, lastID: "abc"},
	{name: "seeded id kept through unfinished block", seedID: "abc", in: "id: 1\n", lastID: "abc"},
	{name: "seeded id then new id", seedID: "abc", in: "data: x\n\nid: 2\ndata: y\n\n", want: []sse.Event{msg("x", "abc"), msg("y", "2")}, lastID: "2"},
	{name: "seeded id empty stream", seedID: "abc", in: "", lastID: "abc"},

	// §9.2.6 retry: ASCII digits only, applied at once, with or without a
	// dispatch (WPT eventsource/eventsource-reconnect,
	// eventsource/format-field-retry and eventsource/format-field-retry-bogus).
	{name: "retry then EOF", in: "retry: 2\n", retry: 2 * time.Millisecond, hasRetry: true},
	{name: "retry no space", in: "retry:1500\n\n", retry: 1500 * time.Millisecond, hasRetry: true},
	{name: "retry leading zeros", in: "retry:03000\n\n", retry: 3 * time.Second, hasRetry: true},
	{name: "retry zero", in: "retry: 0\n", retry: 0, hasRetry: true},
	{name: "bogus retry ignored", in: "retry: 3000\nretry: 1000x\n", retry: 3 * time.Second, hasRetry: true},
	{name: "later retry wins", in: "retry: 3000\nretry: 10\n", retry: 10 * time.Millisecond, hasRetry: true},
	{name: "retry negative", in: "retry: -1\n"},
	{name: "retry fraction", in: "retry: 1.5\n"},
	{name: "retry empty", in: "retry:\n"},
	{name: "retry bare", in: "retry\ndata:test\n\n", want: []sse.Event{msg("test", "")}},
	{name: "retry empty keeps previous", in: "retry: 5\nretry:\n", retry: 5 * time.Millisecond, hasRetry: true},
	{name: "retry bare keeps previous", in: "retry: 5\nretry\n", retry: 5 * time.Millisecond, hasRetry: true},
	{name: "retry two spaces", in: "retry:  100\n"},
	{name: "retry plus", in: "retry: +100\n"},
	{name: "retry trailing space", in: "retry: 100 \n"},
	{name: "retry inner space", in: "retry: 1 000\n"},
	{name: "retry hex", in: "retry: 0x10\n"},
	{name: "retry Arabic-Indic digits", in: "retry: \u0661\u0662\n"},
	{name: "retry fullwidth digits", in: "retry: \uFF11\uFF12\n"},
	{name: "retry is case-sensitive", in: "Retry: 100\n"},
	{name: "retry does not dispatch", in: "retry: 10\n\n", retry: 10 * time.Millisecond, hasRetry: true},
	{name: "retry inside event", in: "retry: 10\ndata: x\n\n", want: []sse.Event{msg("x", "")}, retry: 10 * time.Millisecond, hasRetry: true},
	{name: "retry unterminated line", in: "retry: 7"},
	{name: "retry in unfinished block applies", in: "data: x\nretry: 7\n", retry: 7 * time.Millisecond, hasRetry: true},
	{
		// WPT format-data-before-final-empty-line.
		name:     "wpt data before final empty line",
		in:       "retry:1000\ndata:test1\n\nid:test\ndata:test",
		want:     []sse.Event{msg("test1", "")},
		retry:    time.Second,
		hasRetry: true,
	},

	// §9.2.6 byte order mark: UTF-8 decode strips one at the start of the
	// stream; a second one is part of the first field name, so that block
	// dispatches nothing (WPT eventsource/format-bom and
	// eventsource/format-bom-2).
	{name: "BOM stripped", in: "\xEF\xBB\xBFdata: x\n\n", want: []sse.Event{msg("x", "")}},
	{name: "two BOMs", in: "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n"},
	{name: "wpt BOM", in: "\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n", want: []sse.Event{msg("1", ""), msg("3", "")}},
	{name: "wpt two BOMs", in: "\uFEFF\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n", want: []sse.Event{msg("3", "")}},
	{name: "BOM in data kept", in: "data: \uFEFFx\n\n", want: []sse.Event{msg("\uFEFFx", "")}},
	{name: "BOM only", in: "\xEF\xBB\xBF"},
	{name: "BOM then blank line", in: "\xEF\xBB\xBF\ndata: x\n\n", want: []sse.Event{msg("x", "")}},
	{name: "partial BOM", in: "\xEF\xBBdata: x\n\ndata: y\n\n", want: []sse.Event{msg("y", "")}},

	// §9.2.6 UTF-8 decode, as the WHATWG Encoding Standard defines it: one
	// U+FFFD for each maximal subpart of an invalid sequence, which neither a
	// range loop over a string nor strings.ToValidUTF8 gives (WPT
	// eventsource/format-utf-8).
	{name: "UTF-8 data", in: "data:ok\xE2\x80\xA6\n\n", want: []sse.Event{msg("ok…", "")}},
	{name: "two-byte", in: "data: \xC3\xA9\n\n", want: []sse.Event{msg("é", "")}},
	{name: "four-byte", in: "data: \xF0\x9F\x98\x80\n\n", want: []sse.Event{msg("😀", "")}},
	{name: "lowest three-byte", in: "data: \xE0\xA0\x80\n\n", want: []sse.Event{msg("\u0800", "")}},
	{name: "highest before surrogates", in: "data: \xED\x9F\xBF\n\n", want: []sse.Event{msg("\uD7FF", "")}},
	{name: "lowest four-byte", in: "data: \xF0\x90\x80\x80\n\n", want: []sse.Event{msg("\U00010000", "")}},
	{name: "highest scalar", in: "data: \xF4\x8F\xBF\xBF\n\n", want: []sse.Event{msg("\U0010FFFF", "")}},
	{name: "truncated three-byte then ASCII", in: "data: \xE2\x80X\n\n", want: []sse.Event{msg("\uFFFDX", "")}},
	{name: "surrogate is three errors", in: "data: \xED\xA0\x80\n\n", want: []sse.Event{msg("\uFFFD\uFFFD\uFFFD", "")}},
	{name: "CESU pair", in: "data: \xED\xA0\xBD\xED\xB8\x80\n\n", want: []sse.Event{msg(strings.Repeat("\uFFFD", 6), "")}},
	{name: "overlong two-byte", in: "data: \xC0\xAF\n\n", want: []sse.Event{msg("\uFFFD\uFFFD", "")}},
	{name: "overlong C1", in: "data: \xC1\xBF\n\n", want: []sse.Event{msg("\uFFFD\uFFFD", "")}},
	{name: "overlong three-byte", in: "data: \xE0\x80\xAF\n\n", want: []sse.Event{msg("\uFFFD\uFFFD\uFFFD", "")}},
	{name: "E0 low second byte", in: "data: \xE0\x9F\x80\n\n", want: []sse.Event{msg("\uFFFD\uFFFD\uFFFD", "")}},
	{name: "overlong four-byte", in: "data: \xF0\x80\x80\xAF\n\n", want: []sse.Event{msg(strings.Repeat("\uFFFD", 4), "")}},
	{name: "above U+10FFFF", in: "data: \xF4\x90\x80\x80\n\n", want: []sse.Event{msg(strings.Repeat("\uFFFD", 4), "")}},
	{name: "F4 90", in: "data: \xF4\x90\n\n", want: []sse.Event{msg("\uFFFD\uFFFD", "")}},
	{name: "lone continuation bytes", in: "data: \x80\xBF\n\n", want: []sse.Event{msg("\uFFFD\uFFFD", "")}},
	{name: "invalid lead bytes", in: "data: \xF5\xFF\xFE\n\n", want: []sse.Event{msg("\uFFFD\uFFFD\uFFFD", "")}},
	{name: "truncated before LF", in: "data: \xF0\x9F\x98\n\n", want: []sse.Event{msg("\uFFFD", "")}},
	{name: "truncated before CR", in: "data: \xE2\x82\rdata: b\r\r", want: []sse.Event{msg("\uFFFD\nb", "")}},
	{name: "truncated then valid", in: "data: \xF0\x9F\x98\xF0\x9F\x98\x80\n\n", want: []sse.Event{msg("\uFFFD😀", "")}},
	{name: "truncated before colon", in: "data: \xE2:\n\n", want: []sse.Event{msg("\uFFFD:", "")}},
	{name: "truncated in name", in: "data\xE2\x80: x\n\n"},
	{name: "invalid name", in: "\xFF: x\ndata: y\n\n", want: []sse.Event{msg("y", "")}},
	{name: "invalid type", in: "event: \xC3\ndata: x\n\n", want: []sse.Event{typed("\uFFFD", "x", "")}},
}
