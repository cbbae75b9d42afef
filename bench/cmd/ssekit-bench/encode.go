package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ssekit/ssekit/bench/internal/wire"
	"github.com/ssekit/ssekit/shared/sse"

	r3 "github.com/r3labs/sse/v2"
	gosse "github.com/tmaxmax/go-sse"
)

const encodeTable = "1. Encode"

// encoders frame one event with a 100-byte JSON payload, id "123456" and
// type "tick", and hand it to w, a 2 KiB bufio.Writer in front of
// io.Discard: the buffer net/http's ResponseWriter writes into. Each
// returns a function for the whole event (what a publish costs) and one
// for what every further subscriber costs.
type encoder struct {
	lib            string
	perEvent, perS func()
}

func encoders(w *bufio.Writer) []encoder {
	payload := string(wire.Payload(123456, time.Now().UnixNano()))
	payloadBytes := []byte(payload)
	const id, typ = "123456", "tick"

	// ssekit: AppendEvent frames the event once into a reused buffer; every
	// subscriber is then written the same bytes.
	var buf []byte
	frame, _ := sse.AppendEvent(nil, sse.Event{ID: id, Type: typ, Data: payload})
	ssekit := encoder{lib: "ssekit",
		perEvent: func() {
			buf, _ = sse.AppendEvent(buf[:0], sse.Event{ID: id, Type: typ, Data: payload})
			w.Write(buf)
			w.Flush()
		},
		perS: func() {
			w.Write(frame)
			w.Flush()
		},
	}

	// go-sse: a Message per publish, and Message.WriteTo into every
	// subscriber's ResponseWriter (Joe calls Session.Send, which calls
	// WriteTo, then Flush).
	msg := &gosse.Message{ID: gosse.ID(id), Type: gosse.Type(typ)}
	msg.AppendData(payload)
	goSSE := encoder{lib: "go-sse",
		perEvent: func() {
			m := &gosse.Message{ID: gosse.ID(id), Type: gosse.Type(typ)}
			m.AppendData(payload)
			m.WriteTo(w)
			w.Flush()
		},
		perS: func() {
			msg.WriteTo(w)
			w.Flush()
		},
	}

	// r3labs: an Event per publish, and its handler's writes for every
	// subscriber. r3labs has no encoder apart from its handler; r3write is
	// a copy of the statements of Server.ServeHTTP (http.go, v2.10.0) that
	// write one event with no SplitData, no base64 and no TTL.
	ev := &r3.Event{ID: []byte(id), Data: payloadBytes, Event: []byte(typ)}
	r3labs := encoder{lib: "r3labs",
		perEvent: func() {
			e := &r3.Event{ID: []byte(id), Data: payloadBytes, Event: []byte(typ)}
			r3write(w, e)
			w.Flush()
		},
		perS: func() {
			r3write(w, ev)
			w.Flush()
		},
	}
	return []encoder{ssekit, goSSE, r3labs}
}

// r3write is what r3labs/sse v2.10.0's ServeHTTP does with each event
// taken from the subscriber's channel (the branches for Comment, Retry,
// SplitData and ':'-prefixed data, which the benchmark's events do not
// take, are left out).
func r3write(w io.Writer, ev *r3.Event) {
	if len(ev.Data) > 0 {
		fmt.Fprintf(w, "id: %s\n", ev.ID)
		fmt.Fprintf(w, "data: %s\n", ev.Data)
		if len(ev.Event) > 0 {
			fmt.Fprintf(w, "event: %s\n", ev.Event)
		}
	}
	fmt.Fprint(w, "\n")
}

func runEncode(ctx context.Context, c *config) error {
	rec := c.rec
	rec.Intro(encodeTable, "One event (id \"123456\", type \"tick\", a 100-byte JSON payload) framed and written to a 2 KiB bufio.Writer in front of io.Discard (the buffer "+
		"net/http's ResponseWriter writes into), then flushed. \"Per publish\" builds the event from its parts as each library's publish path does: ssekit sse.AppendEvent "+
		"into a reused buffer; go-sse a new sse.Message with AppendData, then Message.WriteTo (v0.11.0 has no other encoder); r3labs a new sse.Event, then the writes of its "+
		"handler (r3labs has no encoder apart from Server.ServeHTTP, which writes each field with fmt.Fprintf; the harness runs a copy of those statements). "+
		"\"Per further subscriber\" is what each additional subscriber costs: ssekit writes the same framed bytes to every subscriber; go-sse calls WriteTo and r3labs "+
		"runs its Fprintf sequence again for each one. Time is process CPU time per operation (getrusage), which includes any garbage collection the allocations cause.")
	d := pick(c, 150*time.Millisecond, 500*time.Millisecond)
	w := bufio.NewWriterSize(io.Discard, 2048)
	encs := encoders(w)
	for round := range c.rounds {
		for _, e := range rotate(encs, round) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			pe := measure(e.perEvent, d)
			ps := measure(e.perS, d)
			rec.Add(encodeTable, "per publish: time", "ns", lower, e.lib, round, float64(pe.cpu))
			rec.Add(encodeTable, "per publish: allocations", "allocs", lower, e.lib, round, pe.allocs)
			rec.Add(encodeTable, "per further subscriber: time", "ns", lower, e.lib, round, float64(ps.cpu))
			rec.Add(encodeTable, "per further subscriber: allocations", "allocs", lower, e.lib, round, ps.allocs)
		}
	}
	rec.Note(encodeTable, "server.Publish itself adds to the ssekit figure the schema's JSON encoding (the peers take bytes), the message that holds "+
		"the event's lines with room in front for the id line, which the broker writes in place, and the ID string it returns: the same few allocations "+
		"per publish whatever the number of subscribers (see 2a).")
	return nil
}
