package sse_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ssekit/ssekit/shared/sse"
)

// whatwgUTF8 decodes b the way the UTF-8 decoder of the WHATWG Encoding
// Standard (§8.1.1) does, one byte at a time, with replacement error mode:
// every maximal subpart of an invalid sequence becomes one U+FFFD. It does not
// strip a byte order mark. It is written from the standard's steps, not with
// package utf8, so that it can check the decoder.
func whatwgUTF8(b []byte) string {
	var sb strings.Builder
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if needed == 0 {
			switch {
			case c <= 0x7F:
				sb.WriteByte(c)
			case 0xC2 <= c && c <= 0xDF:
				needed, cp = 1, rune(c&0x1F)
			case 0xE0 <= c && c <= 0xEF:
				if c == 0xE0 {
					lower = 0xA0
				}
				if c == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(c&0xF)
			case 0xF0 <= c && c <= 0xF4:
				if c == 0xF0 {
					lower = 0x90
				}
				if c == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(c&0x7)
			default:
				sb.WriteRune(utf8.RuneError)
			}
			continue
		}
		if c < lower || c > upper {
			// Error: reset, and restore c to the stream.
			cp, needed, seen = 0, 0, 0
			lower, upper = 0x80, 0xBF
			sb.WriteRune(utf8.RuneError)
			i--
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(c&0x3F)
		seen++
		if seen == needed {
			sb.WriteRune(cp)
			cp, needed, seen = 0, 0, 0
		}
	}
	if needed != 0 {
		sb.WriteRune(utf8.RuneError) // end of queue in the middle of a sequence
	}
	return sb.String()
}

// modelDecode is a reference model of a browser's event stream parser,
// written straight from the steps of WHATWG HTML §9.2.6
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
// on a whole, already-read stream. It reports retryUnspecified when a retry
// value is all digits but too large for a time.Duration, which the spec
// leaves to the implementation.
func modelDecode(in []byte, seedID string) (res decodeResult, retryUnspecified bool) {
	in = bytes.TrimPrefix(in, []byte("\xEF\xBB\xBF")) // UTF-8 decode strips one BOM
	s := whatwgUTF8(in)
	var data strings.Builder
	typ, idBuf := "", seedID
	res.LastID = seedID
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			break // an unterminated line, and any pending event, is discarded
		}
		line := s[:i]
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			s = s[i+2:]
		} else {
			s = s[i+1:]
		}
		if line == "" {
			res.LastID = idBuf
			if data.Len() == 0 {
				typ = ""
				continue
			}
			ev := sse.Event{Type: "message", Data: strings.TrimSuffix(data.String(), "\n"), ID: res.LastID}
			if typ != "" {
				ev.Type = typ
			}
			res.Events = append(res.Events, ev)
			data.Reset()
			typ = ""
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			typ = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		case "id":
			if !strings.Contains(value, "\x00") {
				idBuf = value
			}
		case "retry":
			if value == "" || strings.Trim(value, "0123456789") != "" {
				continue
			}
			ms, err := strconv.ParseInt(value, 10, 64)
			if err != nil || ms > int64(1<<63-1)/int64(time.Millisecond) {
				retryUnspecified = true
				continue
			}
			res.Retry, res.HasRetry = time.Duration(ms)*time.Millisecond, true
		}
	}
	return res, retryUnspecified
}

// TestModel checks the reference model against the decoder table, so that the
// fuzz targets compare the decoder with an oracle that agrees with the spec
// rows.
func TestModel(t *testing.T) {
	t.Parallel()
	for _, tc := range decodeCases {
		got, _ := modelDecode([]byte(tc.in), tc.seedID)
		if want := tc.result(); !got.equal(want) {
			t.Errorf("model: Decode(%q) = %v; want %v", tc.in, got, want)
		}
	}
}

func TestWHATWGUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"\xE2\x80X", "\uFFFDX"},
		{"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\xF0\x9F\x98", "\uFFFD"},
		{"\xF0\x9F\x98\x80", "😀"},
		{"\xC0\x80", "\uFFFD\uFFFD"},
		{"\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\xE0\xA0", "\uFFFD"},
		{"\xEF\xBB\xBF", "\uFEFF"},
		{"\xFF\xC2", "\uFFFD\uFFFD"},
	}
	for _, tc := range tests {
		if got := whatwgUTF8([]byte(tc.in)); got != tc.want {
			t.Errorf("whatwgUTF8(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
