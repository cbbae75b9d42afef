package sse_test

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/shared/sse"
)

const tickJSON = `{"symbol":"ACME","price":123.45,"change":-0.12,"time":"2026-11-21T04:00:00Z"}`

// smallEvents is a stream of n small JSON events with line end eol.
func smallEvents(n int, eol string) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "id: %d%sevent: price.tick%sdata: %s%s%s", i, eol, eol, tickJSON, eol, eol)
	}
	return b.Bytes()
}

// bigEvents is a stream of n events, each with a 64 KiB data payload in
// lines of lineLen bytes.
func bigEvents(n, lineLen int) []byte {
	const size = 64 << 10
	line := "data: " + strings.Repeat("x", lineLen) + "\n"
	var b bytes.Buffer
	for range n {
		for written := 0; written < size; written += lineLen {
			b.WriteString(line)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func BenchmarkDecoder(b *testing.B) {
	corpora := []struct {
		name   string
		stream []byte
	}{
		{"small-json", smallEvents(10000, "\n")},
		{"cr-only", smallEvents(10000, "\r")},
		{"crlf", smallEvents(10000, "\r\n")},
		{"64KiB/100B-lines", bigEvents(100, 100)},
		{"64KiB/one-line", bigEvents(100, 64<<10)},
	}
	for _, c := range corpora {
		b.Run(c.name, func(b *testing.B) {
			benchmarkDecoder(b, c.stream)
		})
	}
}

func benchmarkDecoder(b *testing.B, stream []byte) {
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	r := bytes.NewReader(stream)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	events, iters := 0, 0
	for b.Loop() {
		r.Reset(stream)
		d := sse.NewDecoder(r)
		for {
			if _, err := d.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			events++
		}
		iters++
	}
	runtime.ReadMemStats(&after)
	if events == 0 {
		b.Fatal("no events decoded")
	}
	b.ReportMetric(float64(events)/float64(iters), "events/op")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(events), "allocs/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}

func BenchmarkAppendEvent(b *testing.B) {
	ev := sse.Event{ID: "123456", Type: "price.tick", Data: tickJSON + `,"pad":"xxxxxxxx"}`}
	dst, err := sse.AppendEvent(nil, ev)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst, err = sse.AppendEvent(dst[:0], ev)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncoder(b *testing.B) {
	ev := sse.Event{ID: "123456", Type: "price.tick", Data: tickJSON}
	enc := sse.NewEncoder(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(ev); err != nil {
			b.Fatal(err)
		}
	}
}
