package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ssekit/ssekit/shared/sse"

	ld "github.com/launchdarkly/eventsource"
	gosse "github.com/tmaxmax/go-sse"
)

const decodeTable = "7. Decode"

const tickJSON = `{"symbol":"ACME","price":123.45,"change":-0.12,"time":"2026-11-21T04:00:00Z"}`

// smallEvents is a stream of n small JSON events with line end eol.
func smallEvents(n int, eol string) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "id: %d%sevent: price.tick%sdata: %s%s%s", i, eol, eol, tickJSON, eol, eol)
	}
	return b.Bytes()
}

// bigEvents is a stream of n events whose data is one 64 KiB line of JSON.
func bigEvents(n int) []byte {
	const size = 64 << 10
	data := `{"blob":"` + strings.Repeat("x", size-len(`{"blob":""}`)) + `"}`
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "id: %d\nevent: blob\ndata: %s\n\n", i, data)
	}
	return b.Bytes()
}

// decoder decodes a whole stream and returns the number of events.
type decoder struct {
	lib    string
	decode func(r io.Reader) (int, error)
}

var decoders = []decoder{
	{"ssekit", func(r io.Reader) (int, error) {
		d := sse.NewDecoder(r)
		n := 0
		for {
			if _, err := d.Next(); err != nil {
				if err == io.EOF {
					return n, nil
				}
				return n, err
			}
			n++
		}
	}},
	{"go-sse", func(r io.Reader) (int, error) {
		n := 0
		// The default limit is 64 KB: raise it for the 64 KiB events.
		for _, err := range gosse.Read(r, &gosse.ReadConfig{MaxEventSize: 1 << 20}) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}},
	{"launchdarkly", func(r io.Reader) (int, error) {
		d := ld.NewDecoder(r)
		n := 0
		for {
			if _, err := d.Decode(); err != nil {
				if errors.Is(err, io.EOF) {
					return n, nil
				}
				return n, err
			}
			n++
		}
	}},
}

func runDecode(ctx context.Context, c *config) error {
	rec := c.rec
	rec.Intro(decodeTable, "Whole streams decoded from a bytes.Reader into events (type, data, last event ID): ssekit's sse.Decoder (Next), go-sse's sse.Read iterator "+
		"(v0.11.0's reader, ReadConfig.MaxEventSize raised to 1 MiB: its default of 64 KB refuses the 64 KiB events), launchdarkly/eventsource's Decoder (Decode). "+
		"Corpora: 10,000 small JSON events (`id`, `event`, one ~90-byte `data` line), the same with CR-only line ends, and 100 events of one 64 KiB `data` line. "+
		"MB/s is stream bytes per second of process CPU time; allocations are per event.")
	corpora := []struct {
		name   string
		stream []byte
		events int
	}{
		{"small JSON events", smallEvents(10000, "\n"), 10000},
		{"CR-only line ends", smallEvents(10000, "\r"), 10000},
		{"64 KiB events", bigEvents(100), 100},
	}
	d := pick(c, 150*time.Millisecond, 500*time.Millisecond)
	for round := range c.rounds {
		for _, corpus := range corpora {
			for _, dec := range rotate(decoders, round) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r := bytes.NewReader(corpus.stream)
				n, err := dec.decode(r)
				if err == nil && n != corpus.events {
					err = fmt.Errorf("decoded %d events; want %d", n, corpus.events)
				}
				if err != nil {
					rec.Fail(decodeTable, dec.lib, fmt.Errorf("%s: %w", corpus.name, err))
					continue
				}
				cost := measure(func() {
					r.Reset(corpus.stream)
					dec.decode(r)
				}, d)
				mbps := float64(len(corpus.stream)) / cost.cpu.Seconds() / 1e6
				rec.Add(decodeTable, corpus.name+": MB/s", "MB/s", higher, dec.lib, round, mbps)
				rec.Add(decodeTable, corpus.name+": allocations per event", "allocs", lower, dec.lib, round, cost.allocs/float64(corpus.events))
			}
		}
	}
	rec.Note(decodeTable, "launchdarkly's Decoder reads lines on a goroutine of its own and hands them over a channel, one channel operation per line.")
	return nil
}
