package sse_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/ssekit/ssekit/shared/sse"
)

// chunks splits in into reads whose sizes come from sizes (each byte is one
// size, 1–256); what is left after sizes runs out is one last read.
func chunks(in, sizes []byte) [][]byte {
	var out [][]byte
	for _, s := range sizes {
		if len(in) == 0 {
			break
		}
		n := min(int(s)+1, len(in))
		out = append(out, in[:n])
		in = in[n:]
	}
	if len(in) > 0 {
		out = append(out, in)
	}
	return out
}

func checkEventInvariants(tb testing.TB, in []byte, res decodeResult) {
	tb.Helper()
	for _, ev := range res.Events {
		if ev.Type == "" || strings.ContainsAny(ev.Type, "\r\n") || strings.ContainsAny(ev.ID, "\r\n\x00") ||
			strings.Contains(ev.Data, "\r") || ev.Retry != 0 ||
			!utf8.ValidString(ev.Type) || !utf8.ValidString(ev.Data) || !utf8.ValidString(ev.ID) {
			tb.Errorf("Decode(%q) gave event %+v: want a non-empty type, no CR or LF in type and ID, no NUL in ID, no CR in data, valid UTF-8, zero Retry", in, ev)
		}
	}
	if strings.ContainsAny(res.LastID, "\r\n\x00") || !utf8.ValidString(res.LastID) {
		tb.Errorf("Decode(%q) LastEventID() = %q; want valid UTF-8 without CR, LF or NUL", in, res.LastID)
	}
	if res.HasRetry && res.Retry < 0 {
		tb.Errorf("Decode(%q) Retry() = %v; want it not negative", in, res.Retry)
	}
}

func FuzzDecoder(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.in), []byte{0})
		f.Add([]byte(tc.in), []byte{byte(len(tc.in) / 2)})
	}
	f.Add([]byte("data: a\r\ndata: b\r\n\r\n"), []byte{6, 0, 6})
	f.Add([]byte("\xEF\xBB\xBFdata: \xE2\x82\xAC\r\r"), []byte{0, 1, 7})
	f.Fuzz(func(t *testing.T, in, sizes []byte) {
		whole := decodeAll(t, bytes.NewReader(in), "", 0, len(in))
		checkEventInvariants(t, in, whole)

		cs := chunks(in, sizes)
		r := &chunkReader{}
		for _, c := range cs {
			r.chunks = append(r.chunks, bytes.Clone(c))
		}
		if got := decodeAll(t, r, "", 0, len(in)); !got.equal(whole) {
			t.Errorf("Decode(%q) in reads %q = %v; want %v as in one read", in, cs, got, whole)
		}

		if whole.Err != nil {
			var le *sse.LimitError
			if !errors.As(whole.Err, &le) || 3*len(in) < sse.DefaultMaxEventSize {
				t.Fatalf("Decode(%q) error = %v; want io.EOF", in, whole.Err)
			}
			return // the model has no limit
		}
		want, retryUnspecified := modelDecode(in, "")
		if retryUnspecified {
			want.Retry, want.HasRetry = whole.Retry, whole.HasRetry
		}
		if !whole.equal(want) {
			t.Errorf("Decode(%q) = %v; want %v (reference model)", in, whole, want)
		}
	})
}

// normalizeData is what a client reads back from AppendEvent's data lines:
// every CR and CRLF becomes LF.
func normalizeData(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func FuzzRoundTrip(f *testing.F) {
	for _, tc := range appendCases {
		f.Add(tc.ev.Type, tc.ev.Data, tc.ev.ID, uint32(tc.ev.Retry/time.Millisecond))
	}
	for _, tc := range appendErrorCases {
		f.Add(tc.ev.Type, tc.ev.Data, tc.ev.ID, uint32(0))
	}
	f.Fuzz(func(t *testing.T, typ, data, id string, retryMs uint32) {
		ev := sse.Event{Type: typ, Data: data, ID: id, Retry: time.Duration(retryMs) * time.Millisecond}
		frame, err := sse.AppendEvent(nil, ev)
		refuse := strings.ContainsAny(typ, "\r\n") || strings.ContainsAny(id, "\r\n\x00")
		if refuse != (err != nil) {
			t.Fatalf("AppendEvent(%+v) = %q, %v; want an error: %v", ev, frame, err, refuse)
		}
		if err != nil {
			var fe *sse.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "sse: ") {
				t.Errorf("AppendEvent(%+v) error = %v; want a *sse.FieldError starting with \"sse: \"", ev, err)
			}
			if frame != nil {
				t.Errorf("AppendEvent(nil, %+v) = %q, %v; want nil dst back", ev, frame, err)
			}
			return
		}
		if !utf8.ValidString(typ) || !utf8.ValidString(data) || !utf8.ValidString(id) {
			t.Skip("invalid UTF-8 is replaced by the decoder; FuzzUTF8 covers it")
		}
		if len(frame) > sse.DefaultMaxEventSize/2 {
			t.Skip("over the decoder's limit")
		}
		want := sse.Event{Type: typ, Data: normalizeData(data), ID: id}
		if want.Type == "" {
			want.Type = "message"
		}
		for _, r := range []io.Reader{bytes.NewReader(frame), iotest.OneByteReader(bytes.NewReader(frame))} {
			got := decodeAll(t, r, "", 0, len(frame))
			if len(got.Events) != 1 || got.Events[0] != want || got.Err != nil || got.LastID != id {
				t.Fatalf("Decode(%q) = %v; want one event %+v and LastEventID %q", frame, got, want, id)
			}
			if wantRetry := ev.Retry; got.HasRetry != (wantRetry > 0) || (wantRetry > 0 && got.Retry != wantRetry) {
				t.Errorf("Decode(%q) Retry() = %v, %v; want %v, %v", frame, got.Retry, got.HasRetry, wantRetry, wantRetry > 0)
			}
		}
	})
}

func FuzzUTF8(f *testing.F) {
	for _, s := range []string{
		"", "abc", "ok…", "\xE2\x80X", "\xED\xA0\x80", "\xF0\x9F\x98\x80", "\xF0\x9F\x98",
		"\xC0\xAF", "\xF4\x90\x80\x80", "\xEF\xBB\xBF", "\x80\xBF", "\xF5\xFF", "\xE0\x9F\x80",
	} {
		f.Add([]byte(s), []byte{0})
	}
	f.Fuzz(func(t *testing.T, s, sizes []byte) {
		if bytes.ContainsAny(s, "\r\n") {
			t.Skip("line ends are not part of a value")
		}
		if 3*len(s) > sse.DefaultMaxEventSize/2 {
			t.Skip("over the decoder's limit once replaced")
		}
		in := append(append([]byte("data: "), s...), "\n\n"...)
		want := msg(whatwgUTF8(s), "")
		cs := chunks(in, sizes)
		r := &chunkReader{}
		for _, c := range cs {
			r.chunks = append(r.chunks, bytes.Clone(c))
		}
		for how, res := range map[string]decodeResult{
			"one read":                  decodeAll(t, bytes.NewReader(in), "", 0, len(in)),
			"one-byte reads":            decodeAll(t, iotest.OneByteReader(bytes.NewReader(in)), "", 0, len(in)),
			fmt.Sprintf("reads %q", cs): decodeAll(t, r, "", 0, len(in)),
		} {
			if res.Err != nil || len(res.Events) != 1 || res.Events[0] != want {
				t.Fatalf("Decode(%q) in %s = %v; want %q", in, how, res, want.Data)
			}
		}
	})
}
