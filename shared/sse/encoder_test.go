package sse_test

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/shared/sse"
)

// appendCases are events that AppendEvent writes in its canonical wire form,
// with the bytes each must give, plus the corners of the same rules. An
// explicit empty id ("id: ", which resets the client's last event ID) cannot
// be expressed: ID "" writes no id field. An event with only an ID or only a
// Retry still gets a data line, because AppendEvent always writes one. The
// response headers are not part of the frame; server/handler_test.go checks
// them.
var appendCases = []struct {
	name string
	ev   sse.Event
	want string
}{
	{"data", sse.Event{Data: "hello"}, "data: hello\n\n"},
	{"LF in data", sse.Event{Data: "a\nb"}, "data: a\ndata: b\n\n"},
	{"CRLF and CR in data", sse.Event{Data: "a\r\nb\rc"}, "data: a\ndata: b\ndata: c\n\n"},
	{"leading space", sse.Event{Data: " lead"}, "data:  lead\n\n"},
	{"empty data", sse.Event{}, "data: \n\n"},
	{"trailing LF", sse.Event{Data: "x\n"}, "data: x\ndata: \n\n"},
	{"only LF", sse.Event{Data: "\n"}, "data: \ndata: \n\n"},
	{"id and type", sse.Event{ID: "42", Type: "update", Data: "x"}, "id: 42\nevent: update\ndata: x\n\n"},
	{"id without data", sse.Event{ID: "7"}, "id: 7\ndata: \n\n"},
	{"retry", sse.Event{Retry: 1500 * time.Millisecond}, "retry: 1500\ndata: \n\n"},
	{"empty type", sse.Event{Type: "", Data: "x"}, "data: x\n\n"},
	{"message type", sse.Event{Type: "message", Data: "x"}, "data: x\n\n"},
	{"message type with id", sse.Event{ID: "1", Type: "message", Data: "x"}, "id: 1\ndata: x\n\n"},
	{"BOM in data", sse.Event{Data: "\uFEFFx"}, "data: \uFEFFx\n\n"},
	{"field order", sse.Event{Data: "d", Retry: 2 * time.Second, Type: "t", ID: "1"}, "id: 1\nevent: t\nretry: 2000\ndata: d\n\n"},
	{"retry rounded down to ms", sse.Event{Retry: 1500*time.Millisecond + 999*time.Microsecond, Data: "x"}, "retry: 1500\ndata: x\n\n"},
	{"trailing CR", sse.Event{Data: "x\r"}, "data: x\ndata: \n\n"},
	{"only CRLF", sse.Event{Data: "\r\n"}, "data: \ndata: \n\n"},
	{"CR then CRLF", sse.Event{Data: "a\r\r\nb"}, "data: a\ndata: \ndata: b\n\n"},
	{"LF CR", sse.Event{Data: "a\n\rb"}, "data: a\ndata: \ndata: b\n\n"},
	{"leading space in type and id", sse.Event{ID: " 1", Type: " t", Data: "x"}, "id:  1\nevent:  t\ndata: x\n\n"},
	{"colon in type", sse.Event{Type: "a:b", Data: "x"}, "event: a:b\ndata: x\n\n"},
	{"NUL in data and type", sse.Event{Type: "t\x00", Data: "a\x00b"}, "event: t\x00\ndata: a\x00b\n\n"},
	{"data looks like a comment", sse.Event{Data: ": not a comment"}, "data: : not a comment\n\n"},
	{"data looks like a field", sse.Event{Data: "id: 9\n\nevent: x"}, "data: id: 9\ndata: \ndata: event: x\n\n"},
	{"UTF-8 id", sse.Event{ID: "…", Data: "é"}, "id: …\ndata: é\n\n"},
}

var appendErrorCases = []struct {
	name string
	ev   sse.Event
}{
	{"LF in type", sse.Event{Type: "a\nb", Data: "x"}},
	{"CR in type", sse.Event{Type: "a\rb", Data: "x"}},
	{"CRLF in type", sse.Event{Type: "a\r\n"}},
	{"type is LF", sse.Event{Type: "\n"}},
	{"LF in id", sse.Event{ID: "a\nb", Data: "x"}},
	{"CR in id", sse.Event{ID: "a\rb", Data: "x"}},
	{"NUL in id", sse.Event{ID: "a\x00b", Data: "x"}},
	{"id is NUL", sse.Event{ID: "\x00"}},
}

func TestAppendEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range appendCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := sse.AppendEvent(nil, tc.ev)
			if string(got) != tc.want || err != nil {
				t.Errorf("AppendEvent(nil, %+v) = %q, %v; want %q, <nil>", tc.ev, got, err, tc.want)
			}

			// AppendEvent appends.
			dst := []byte("data: before\n\n")
			got, err = sse.AppendEvent(dst, tc.ev)
			if want := "data: before\n\n" + tc.want; string(got) != want || err != nil {
				t.Errorf("AppendEvent(%q, %+v) = %q, %v; want %q, <nil>", dst, tc.ev, got, err, want)
			}

			// The frame decodes to the event (S-table "decodes to" column).
			want := sse.Event{Type: tc.ev.Type, Data: normalizeData(tc.ev.Data), ID: tc.ev.ID}
			if want.Type == "" {
				want.Type = "message"
			}
			res := decodeAll(t, strings.NewReader(tc.want), "", 0, len(tc.want))
			if len(res.Events) != 1 || res.Events[0] != want || res.Err != nil || res.LastID != tc.ev.ID {
				t.Errorf("Decode(%q) = %v; want one event %+v", tc.want, res, want)
			}
			if wantRetry := tc.ev.Retry.Truncate(time.Millisecond); res.HasRetry != (wantRetry > 0) || res.Retry != wantRetry {
				t.Errorf("Decode(%q) Retry() = %v, %v; want %v, %v", tc.want, res.Retry, res.HasRetry, wantRetry, wantRetry > 0)
			}
		})
	}
}

// checkUnchanged checks that AppendEvent gave dst back as it was.
func checkUnchanged(tb testing.TB, ev sse.Event, got, dst []byte, before string) {
	tb.Helper()
	if string(got) != before || len(got) != len(dst) || cap(got) != cap(dst) || &got[:1][0] != &dst[:1][0] {
		tb.Errorf("AppendEvent(%q, %+v) = %q (len %d cap %d); want dst %q back unchanged (len %d cap %d)",
			before, ev, got, len(got), cap(got), before, len(dst), cap(dst))
	}
}

func TestAppendEventErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range appendErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := make([]byte, 0, 256)
			dst = append(dst, "data: before\n\n"...)
			got, err := sse.AppendEvent(dst, tc.ev)
			var fe *sse.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("AppendEvent(%+v) error = %v; want a *sse.FieldError", tc.ev, err)
			}
			checkUnchanged(t, tc.ev, got, dst, "data: before\n\n")
			if fe.Field == "" || fe.Reason == "" {
				t.Errorf("AppendEvent(%+v) error = %#v; want Field and Reason set", tc.ev, fe)
			}
			if msg, want := err.Error(), "sse: "+fe.Field+" "+fe.Reason; msg != want {
				t.Errorf("AppendEvent(%+v) error text = %q; want %q", tc.ev, msg, want)
			}
		})
	}
}

func TestAppendEventTypeErrorText(t *testing.T) {
	t.Parallel()
	ev := sse.Event{Type: "a\nb", Data: "x"}
	_, err := sse.AppendEvent(nil, ev)
	if want := "sse: event type contains a line break"; err == nil || err.Error() != want {
		t.Errorf("AppendEvent(%+v) error = %v; want %q", ev, err, want)
	}
}

func TestFieldErrorText(t *testing.T) {
	t.Parallel()
	err := error(&sse.FieldError{Field: "event type", Reason: "contains a line break"})
	if got, want := err.Error(), "sse: event type contains a line break"; got != want {
		t.Errorf("FieldError.Error() = %q; want %q", got, want)
	}
}

func TestAppendEventNegativeRetry(t *testing.T) {
	t.Parallel()
	for _, retry := range []time.Duration{-time.Nanosecond, -time.Millisecond, -time.Hour} {
		ev := sse.Event{Data: "x", Retry: retry}
		dst := make([]byte, 0, 256)
		dst = append(dst, "keep"...)
		got, err := sse.AppendEvent(dst, ev)
		if err == nil || !strings.HasPrefix(err.Error(), "sse: ") {
			t.Errorf("AppendEvent(%+v) = %q, %v; want an error starting with \"sse: \"", ev, got, err)
		}
		checkUnchanged(t, ev, got, dst, "keep")
	}
}

func TestAppendComment(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"keep\nalive", ": keep\n: alive\n\n"}, // a multi-line comment is split into lines
		{"", ":\n\n"},
		{"x", ": x\n\n"},
		{"a\r\nb", ": a\n: b\n\n"},
		{"a\rb", ": a\n: b\n\n"},
		{"a\r\rb", ": a\n:\n: b\n\n"},
		{"a\n", ": a\n:\n\n"},
		{"\n", ":\n:\n\n"},
		{" lead", ":  lead\n\n"},
		{"data: x", ": data: x\n\n"},
	}
	for _, tc := range tests {
		if got := sse.AppendComment(nil, tc.in); string(got) != tc.want {
			t.Errorf("AppendComment(nil, %q) = %q; want %q", tc.in, got, tc.want)
		}
		if got := sse.AppendComment([]byte("x"), tc.in); string(got) != "x"+tc.want {
			t.Errorf("AppendComment(%q, %q) = %q; want %q", "x", tc.in, got, "x"+tc.want)
		}
		// A comment never dispatches anything and never changes the ID.
		if res := decodeAll(t, strings.NewReader(tc.want), "", 0, len(tc.want)); len(res.Events) != 0 || res.LastID != "" || res.Err != nil {
			t.Errorf("Decode(%q) = %v; want nothing", tc.want, res)
		}
	}
}

// recorder is an io.Writer that logs its calls.
type recorder struct {
	buf    bytes.Buffer
	calls  []string // "write" and "flush", in order
	writes []string
	err    error // returned by Write
}

func (r *recorder) Write(p []byte) (int, error) {
	r.calls = append(r.calls, "write")
	r.writes = append(r.writes, string(p))
	if r.err != nil {
		return 0, r.err
	}
	return r.buf.Write(p)
}

// flusher has the Flush method of http.Flusher.
type flusher struct{ recorder }

func (f *flusher) Flush() { f.calls = append(f.calls, "flush") }

// errFlusher has the Flush method of http.ResponseController's targets.
type errFlusher struct {
	recorder
	flushErr error
}

func (f *errFlusher) Flush() error {
	f.calls = append(f.calls, "flush")
	return f.flushErr
}

func TestEncoder(t *testing.T) {
	t.Parallel()
	ev1 := sse.Event{ID: "1", Type: "update", Data: "a\nb"}
	ev2 := sse.Event{Data: "c", Retry: time.Second}
	wantWrites := []string{"id: 1\nevent: update\ndata: a\ndata: b\n\n", "retry: 1000\ndata: c\n\n", ": ping\n\n"}
	flushed := []string{"write", "flush", "write", "flush", "write", "flush"}

	tests := []struct {
		name      string
		writer    func() (io.Writer, *recorder)
		wantCalls []string
	}{
		{"plain", func() (io.Writer, *recorder) { w := &recorder{}; return w, w }, []string{"write", "write", "write"}},
		{"Flush()", func() (io.Writer, *recorder) { w := &flusher{}; return w, &w.recorder }, flushed},
		{"Flush() error", func() (io.Writer, *recorder) { w := &errFlusher{}; return w, &w.recorder }, flushed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, rec := tc.writer()
			enc := sse.NewEncoder(w)
			if err := enc.Encode(ev1); err != nil {
				t.Fatalf("Encode(%+v) = %v", ev1, err)
			}
			if err := enc.Encode(ev2); err != nil {
				t.Fatalf("Encode(%+v) = %v", ev2, err)
			}
			if err := enc.Comment("ping"); err != nil {
				t.Fatalf("Comment(%q) = %v", "ping", err)
			}
			if !slices.Equal(rec.writes, wantWrites) {
				t.Errorf("Encode, Encode, Comment wrote %q; want one Write each: %q", rec.writes, wantWrites)
			}
			if !slices.Equal(rec.calls, tc.wantCalls) {
				t.Errorf("Encode, Encode, Comment made calls %q; want %q", rec.calls, tc.wantCalls)
			}
		})
	}
}

func TestEncoderRefusesWithoutWriting(t *testing.T) {
	t.Parallel()
	for _, tc := range appendErrorCases {
		w := &flusher{}
		err := sse.NewEncoder(w).Encode(tc.ev)
		var fe *sse.FieldError
		if !errors.As(err, &fe) || len(w.calls) != 0 {
			t.Errorf("Encode(%+v) = %v with calls %q; want a *sse.FieldError and no calls", tc.ev, err, w.calls)
		}
	}
	w := &flusher{}
	ev := sse.Event{Data: "x", Retry: -time.Second}
	if err := sse.NewEncoder(w).Encode(ev); err == nil || len(w.calls) != 0 {
		t.Errorf("Encode(%+v) = %v with calls %q; want an error and no calls", ev, err, w.calls)
	}
}

func TestEncoderWriteError(t *testing.T) {
	t.Parallel()
	w := &flusher{recorder: recorder{err: errBoom}}
	enc := sse.NewEncoder(w)
	if err := enc.Encode(sse.Event{Data: "x"}); !errors.Is(err, errBoom) {
		t.Errorf("Encode with a failing writer = %v; want %v", err, errBoom)
	}
	if err := enc.Comment("x"); !errors.Is(err, errBoom) {
		t.Errorf("Comment with a failing writer = %v; want %v", err, errBoom)
	}
}

func TestEncoderFlushError(t *testing.T) {
	t.Parallel()
	errFlush := errors.New("flush failed")
	w := &errFlusher{flushErr: errFlush}
	enc := sse.NewEncoder(w)
	if err := enc.Encode(sse.Event{Data: "x"}); !errors.Is(err, errFlush) {
		t.Errorf("Encode with a failing Flush = %v; want %v", err, errFlush)
	}
	if err := enc.Comment(""); !errors.Is(err, errFlush) {
		t.Errorf("Comment with a failing Flush = %v; want %v", err, errFlush)
	}
}

func TestEncoderResponseRecorder(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	enc := sse.NewEncoder(rec)
	ev := sse.Event{ID: "42", Type: "update", Data: "x"}
	if err := enc.Encode(ev); err != nil {
		t.Fatalf("Encode(%+v) = %v", ev, err)
	}
	if got, want := rec.Body.String(), "id: 42\nevent: update\ndata: x\n\n"; got != want || !rec.Flushed {
		t.Errorf("Encode(%+v) to a ResponseRecorder wrote %q, flushed %v; want %q, flushed true", ev, got, rec.Flushed, want)
	}
}
