package sse_test

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ssekit/ssekit/shared/sse"
)

// decodeResult is everything a Decoder reports for one stream.
type decodeResult struct {
	Events   []sse.Event
	LastID   string
	Retry    time.Duration
	HasRetry bool
	Err      error // nil after a clean io.EOF
}

func (r decodeResult) String() string {
	var b strings.Builder
	b.WriteString("{events [")
	for i, ev := range r.Events {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "{%q %q id=%q", ev.Type, ev.Data, ev.ID)
		if ev.Retry != 0 {
			fmt.Fprintf(&b, " retry=%v", ev.Retry)
		}
		b.WriteString("}")
	}
	fmt.Fprintf(&b, "] lastEventID %q", r.LastID)
	if r.HasRetry {
		fmt.Fprintf(&b, " retry %v", r.Retry)
	} else {
		b.WriteString(" no retry")
	}
	if r.Err != nil {
		fmt.Fprintf(&b, " err %v", r.Err)
	}
	b.WriteString("}")
	return b.String()
}

func (r decodeResult) equal(o decodeResult) bool {
	if (r.Err == nil) != (o.Err == nil) || (r.Err != nil && r.Err.Error() != o.Err.Error()) {
		return false
	}
	return slices.Equal(r.Events, o.Events) && r.LastID == o.LastID &&
		r.Retry == o.Retry && r.HasRetry == o.HasRetry
}

func (tc decodeCase) result() decodeResult {
	return decodeResult{Events: tc.want, LastID: tc.lastID, Retry: tc.retry, HasRetry: tc.hasRetry}
}

// decodeAll reads r to the end with a new Decoder. maxEvents bounds the
// number of events, so that a decoder that never stops fails instead of
// looping; a stream of n bytes holds fewer than n events.
func decodeAll(tb testing.TB, r io.Reader, seedID string, limit, maxEvents int) decodeResult {
	tb.Helper()
	d := sse.NewDecoder(r)
	if seedID != "" {
		d.SetLastEventID(seedID)
	}
	if limit != 0 {
		d.SetMaxEventSize(limit)
	}
	var res decodeResult
	for {
		ev, err := d.Next()
		if err != nil {
			if err != io.EOF {
				res.Err = err
			}
			if _, again := d.Next(); again == nil || again.Error() != err.Error() {
				tb.Errorf("Next after %v = %v; want the same error again", err, again)
			}
			break
		}
		res.Events = append(res.Events, ev)
		if len(res.Events) > maxEvents {
			tb.Fatalf("Next returned more than %d events: %v", maxEvents, res)
		}
	}
	res.LastID = d.LastEventID()
	res.Retry, res.HasRetry = d.Retry()
	return res
}

// chunkReader returns its chunks one Read each (a chunk larger than the
// caller's buffer takes several Reads), so that a test controls where the
// reads split the stream.
type chunkReader struct{ chunks [][]byte }

func newChunkReader(chunks ...string) *chunkReader {
	r := &chunkReader{}
	for _, c := range chunks {
		r.chunks = append(r.chunks, []byte(c))
	}
	return r
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.chunks) > 0 && len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	return n, nil
}

// readModes are the ways each table input is fed to the decoder.
var readModes = []struct {
	name string
	wrap func(string) io.Reader
}{
	{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
	{"one-byte", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
	{"half", func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) }},
	{"data-with-EOF", func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) }},
}

func TestDecoder(t *testing.T) {
	t.Parallel()
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := tc.result()
			for _, mode := range readModes {
				t.Run(mode.name, func(t *testing.T) {
					t.Parallel()
					got := decodeAll(t, mode.wrap(tc.in), tc.seedID, 0, len(tc.in))
					if !got.equal(want) {
						t.Errorf("Decode(%q) = %v; want %v", tc.in, got, want)
					}
				})
			}
			t.Run("split", func(t *testing.T) {
				t.Parallel()
				for i := 1; i < len(tc.in); i++ {
					got := decodeAll(t, newChunkReader(tc.in[:i], tc.in[i:]), tc.seedID, 0, len(tc.in))
					if !got.equal(want) {
						t.Errorf("Decode(%q + %q) = %v; want %v", tc.in[:i], tc.in[i:], got, want)
						return // one split is enough to show the bug
					}
				}
			})
		})
	}
}

// TestDecoderDispatchesWithoutWaiting feeds the stream through a pipe, one
// write at a time, and requires each event as soon as its blank line has been
// written: a lone CR must end the line at once, and an event must not wait
// for the next read. WHATWG HTML §9.2.5
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream)
// warns that buffering which expects another line end delays dispatch.
func TestDecoderDispatchesWithoutWaiting(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	t.Cleanup(func() {
		pr.CloseWithError(errors.New("test over"))
		pw.Close()
	})

	type result struct {
		ev  sse.Event
		err error
	}
	results := make(chan result, 16)
	d := sse.NewDecoder(pr)
	go func() {
		for {
			ev, err := d.Next()
			results <- result{ev, err}
			if err != nil {
				return
			}
		}
	}()

	const deadline = 10 * time.Second
	write := func(s string) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			_, err := pw.Write([]byte(s))
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("write %q: %v", s, err)
			}
		case <-time.After(deadline):
			t.Fatalf("write %q: the decoder did not read it within %v", s, deadline)
		}
	}
	expect := func(in string, want sse.Event) {
		t.Helper()
		select {
		case r := <-results:
			if r.err != nil || r.ev != want {
				t.Fatalf("Decode(%q) = %+v, %v; want %+v, <nil>", in, r.ev, r.err, want)
			}
		case <-time.After(deadline):
			t.Fatalf("Decode(%q): no event within %v; want %+v without more input", in, deadline, want)
		}
	}
	expectNothing := func(in string) {
		t.Helper()
		select {
		case r := <-results:
			t.Fatalf("Decode(%q) = %+v, %v; want no event yet", in, r.ev, r.err)
		default:
		}
	}

	write("data: a\n\n")
	expect("data: a\n\n", msg("a", ""))
	write("data: b\r\r")
	expect("data: b\r\r", msg("b", ""))
	write("\ndata: c\r\n\r\n")
	expect("\ndata: c\r\n\r\n", msg("c", ""))
	write("data: x\r") // the LF that follows in the next read ends nothing
	expectNothing("data: x\r")
	write("\ndata: y\n\n")
	expect("data: x\r + \ndata: y\n\n", msg("x\ny", ""))
	write("data: \xE2\x82")
	expectNothing("data: \xE2\x82")
	write("\xAC\n\n")
	expect("data: \xE2\x82 + \xAC\n\n", msg("€", ""))
	write("id: 1\ndata: d\ndata: e\n\ndata: f\n\n")
	expect("id: 1\ndata: d\ndata: e\n\n", msg("d\ne", "1"))
	expect("data: f\n\n", msg("f", "1"))
	write("data: g\n\r")
	expect("data: g\n\r", msg("g", "1"))
	expectNothing("data: g\n\r")
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		if r.err != io.EOF {
			t.Fatalf("Next at end = %+v, %v; want io.EOF", r.ev, r.err)
		}
	case <-time.After(deadline):
		t.Fatalf("Next at end: nothing within %v; want io.EOF", deadline)
	}
}

var errBoom = errors.New("boom")

func TestDecoderReadError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []sse.Event
	}{
		{"at start", "", nil},
		{"after event", "data: a\n\n", []sse.Event{msg("a", "")}},
		{"inside block", "data: a\n\ndata: b\n", []sse.Event{msg("a", "")}},
		{"after CR", "data: a\r", nil},
		{"inside UTF-8 sequence", "data: a\n\ndata: \xE2\x82", []sse.Event{msg("a", "")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := sse.NewDecoder(io.MultiReader(strings.NewReader(tc.in), iotest.ErrReader(errBoom)))
			var got []sse.Event
			var err error
			for range len(tc.in) + 2 {
				var ev sse.Event
				if ev, err = d.Next(); err != nil {
					break
				}
				got = append(got, ev)
			}
			if !slices.Equal(got, tc.want) || !errors.Is(err, errBoom) {
				t.Errorf("Decode(%q + read error) = %v, %v; want %v, %v", tc.in, got, err, tc.want, errBoom)
			}
			for range 3 {
				if _, again := d.Next(); !errors.Is(again, errBoom) {
					t.Errorf("Next after %v = %v; want %v again", err, again, errBoom)
				}
			}
		})
	}
}

// TestDecoderReadErrorWithData checks that bytes returned together with an
// error are decoded before the error is reported (io.Reader contract).
func TestDecoderReadErrorWithData(t *testing.T) {
	t.Parallel()
	in := "data: a\n\n"
	d := sse.NewDecoder(&dataErrReader{data: []byte(in), err: errBoom})
	ev, err := d.Next()
	if err != nil || ev != msg("a", "") {
		t.Fatalf("Decode(%q with %v) = %+v, %v; want %+v, <nil>", in, errBoom, ev, err, msg("a", ""))
	}
	if _, err := d.Next(); !errors.Is(err, errBoom) {
		t.Errorf("Decode(%q with %v): second Next = %v; want %v", in, errBoom, err, errBoom)
	}
}

// dataErrReader returns all its data and err from the same Read.
type dataErrReader struct {
	data []byte
	err  error
}

func (r *dataErrReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}

func TestDecoderEOFIsSticky(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "data: a", "data: a\n", "data: a\n\n"} {
		d := sse.NewDecoder(strings.NewReader(in))
		var err error
		for range 4 {
			if _, err = d.Next(); err != nil {
				break
			}
		}
		for range 3 {
			if ev, again := d.Next(); again != io.EOF {
				t.Errorf("Decode(%q): Next after %v = %+v, %v; want io.EOF", in, err, ev, again)
			}
		}
	}
}
