package sse_test

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/shared/sse"
)

func checkLimitError(tb testing.TB, in string, err error, limit int) {
	tb.Helper()
	var le *sse.LimitError
	if !errors.As(err, &le) {
		tb.Fatalf("Decode(%.40q…) error = %v; want *sse.LimitError", in, err)
	}
	if le.Limit != limit {
		tb.Errorf("Decode(%.40q…) LimitError.Limit = %d; want %d", in, le.Limit, limit)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "sse: ") || !strings.Contains(msg, strconv.Itoa(limit)) {
		tb.Errorf("Decode(%.40q…) error text = %q; want it to start with \"sse: \" and name %d", in, msg, limit)
	}
}

func TestDecoderLimit(t *testing.T) {
	t.Parallel()
	x40 := strings.Repeat("x", 40)
	x200 := strings.Repeat("x", 200)
	tests := []struct {
		name  string
		in    string
		limit int
		want  []sse.Event // before the error
	}{
		{"data over limit", "data: " + x40 + "\ndata: " + x40 + "\n\n", 64, nil},
		{"event after small one", "data: ok\n\ndata: " + x40 + "\ndata: " + x40 + "\ndata: " + x40 + "\n\n", 100, []sse.Event{msg("ok", "")}},
		{"unfinished block over limit", "data: " + x40 + "\ndata: " + x40 + "\ndata: " + x40 + "\n", 64, nil},
		{"long line without line end", "data: " + x200, 64, nil},
		{"long line with line end", "data: " + x200 + "\n\n", 64, nil},
		{"long event line", "event: " + x200 + "\ndata: x\n\n", 64, nil},
		{"long CR line", "data: ok\r\rdata: " + x200 + "\r\r", 64, []sse.Event{msg("ok", "")}},
	}
	for _, tc := range tests {
		for _, mode := range readModes[:2] {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				d := sse.NewDecoder(mode.wrap(tc.in))
				d.SetMaxEventSize(tc.limit)
				var got []sse.Event
				var err error
				for range len(tc.in) {
					var ev sse.Event
					if ev, err = d.Next(); err != nil {
						break
					}
					got = append(got, ev)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("Decode(%q) with limit %d = %v, %v; want %v, *LimitError", tc.in, tc.limit, got, err, tc.want)
				}
				checkLimitError(t, tc.in, err, tc.limit)
				if _, again := d.Next(); again == nil || again.Error() != err.Error() {
					t.Errorf("Next after %v = %v; want the same error again", err, again)
				}
			})
		}
	}
}

func TestDecoderWithinLimit(t *testing.T) {
	t.Parallel()
	// Comments and unknown fields are not kept, so many of them do not add
	// up to an event over the limit; neither do many small events.
	x40 := strings.Repeat("x", 40)
	in := strings.Repeat(": "+x40+"\n", 20) + strings.Repeat("data: "+x40+"\n\n", 20)
	want := slices.Repeat([]sse.Event{msg(x40, "")}, 20)
	got := decodeAll(t, strings.NewReader(in), "", 64, len(in))
	if !slices.Equal(got.Events, want) || got.Err != nil {
		t.Errorf("Decode(%.60q…) with limit 64 = %v; want %d events of %q", in, got, len(want), x40)
	}
}

func TestDecoderDefaultLimit(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("y", sse.DefaultMaxEventSize/2)
	huge := strings.Repeat("z", 2*sse.DefaultMaxEventSize)
	for _, limit := range []int{0, -1, sse.DefaultMaxEventSize} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			t.Parallel()
			in := "data: " + big + "\n\n"
			got := decodeAll(t, strings.NewReader(in), "", limit, 2)
			if got.Err != nil || len(got.Events) != 1 || got.Events[0].Data != big {
				t.Errorf("Decode(data of %d bytes) with SetMaxEventSize(%d) = %v, %v events; want one event", len(big), limit, got.Err, len(got.Events))
			}
			in = "data: " + huge + "\n\n"
			d := sse.NewDecoder(strings.NewReader(in))
			if limit != 0 {
				d.SetMaxEventSize(limit)
			}
			_, err := d.Next()
			checkLimitError(t, in, err, sse.DefaultMaxEventSize)
		})
	}
	t.Run("unset", func(t *testing.T) {
		t.Parallel()
		in := "data: " + huge + "\n\n"
		_, err := sse.NewDecoder(strings.NewReader(in)).Next()
		checkLimitError(t, in, err, sse.DefaultMaxEventSize)
	})
}

// endlessReader produces prefix and then repeats unit, up to max bytes. Past
// failAfter bytes it returns errReadTooMuch instead, so that a decoder that
// keeps buffering fails fast rather than reading (and holding) all of it.
type endlessReader struct {
	prefix, unit   []byte
	max, failAfter int
	n              int // bytes given out
	off            int // into unit
}

var errReadTooMuch = errors.New("test reader: read past the bound")

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.n >= r.failAfter {
		return 0, errReadTooMuch
	}
	if r.n >= r.max {
		return 0, io.EOF
	}
	p = p[:min(len(p), r.max-r.n)]
	written := 0
	for written < len(p) {
		if r.n+written < len(r.prefix) {
			written += copy(p[written:], r.prefix[r.n+written:])
			continue
		}
		c := copy(p[written:], r.unit[r.off:])
		written += c
		r.off = (r.off + c) % len(r.unit)
	}
	r.n += written
	return written, nil
}

// TestDecoderBoundedMemory checks that a stream that never ends a line or
// an event stops the decoder with a *LimitError after reading not much more
// than the limit, instead of buffering the stream: the reader would produce
// 64 MiB, but reading more than 8 MiB already fails the test.
func TestDecoderBoundedMemory(t *testing.T) {
	t.Parallel()
	const (
		limit  = 1 << 20
		stream = 64 << 20
		bound  = 8 << 20 // generous: the limit plus any reasonable read buffering
	)
	tests := []struct {
		name         string
		prefix, unit string
	}{
		{"endless line", "data: ", "a"},
		{"endless event", "", "data: " + strings.Repeat("b", 1000) + "\n"},
		{"endless event with CR line ends", "", "data: " + strings.Repeat("c", 100) + "\r"},
		{"endless event type", "event: ", "e"},
		{"endless id", "id: ", "1"},
		{"endless comment", ":", " "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &endlessReader{prefix: []byte(tc.prefix), unit: []byte(tc.unit), max: stream, failAfter: bound}
			d := sse.NewDecoder(r)
			d.SetMaxEventSize(limit)
			ev, err := d.Next()
			if err == nil {
				t.Fatalf("Decode(%q + %q…) = %.40q…, <nil>; want *sse.LimitError", tc.prefix, tc.unit, ev.Data)
			}
			if errors.Is(err, errReadTooMuch) {
				t.Fatalf("Decode(%q + %q…) read more than %d bytes without failing; want *sse.LimitError{%d}", tc.prefix, tc.unit, bound, limit)
			}
			checkLimitError(t, tc.prefix+tc.unit, err, limit)
		})
	}
}

func TestLimitErrorText(t *testing.T) {
	t.Parallel()
	err := error(&sse.LimitError{Limit: 12345})
	if got := err.Error(); !strings.HasPrefix(got, "sse: ") || !strings.Contains(got, "12345") {
		t.Errorf("LimitError{12345}.Error() = %q; want it to start with \"sse: \" and name 12345", got)
	}
}
