package main

import (
	"context"
	"fmt"
)

const idleTable = "4. Memory per idle connection"

func runIdle(ctx context.Context, c *config) error {
	rec := c.rec
	n := pick(c, 2000, 5000)
	rec.Intro(idleTable, fmt.Sprintf("N = %s idle streams over loopback to the server process (clients in the load-generator process, so only the server's memory is counted). "+
		"The figure is the growth of the server's HeapInuse+StackInuse (after two runtime.GC) from before the first connection to when all %s are subscribed and idle, "+
		"divided by N. Every library's connections have been written a few warm-up events first (go-sse sends its response headers only with the first event). "+
		"\"bare\" is the floor: a net/http handler that writes the event-stream headers, flushes and blocks until the client goes; \"heap over the bare handler's\" is "+
		"what the library itself keeps on the heap per stream.", fmtN(n), fmtN(n)))
	libs := append([]string{"bare"}, libNames()...)
	for round := range pick(c, 1, c.rounds) {
		got := map[string]idleMem{}
		for _, lib := range rotate(libs, round) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m, err := idleRun(c, lib, n)
			if err != nil {
				rec.Fail(idleTable, lib, err)
				continue
			}
			got[lib] = m
		}
		bare, haveBare := got["bare"]
		for _, lib := range libNames() {
			m, ok := got[lib]
			if !ok {
				continue
			}
			rec.Add(idleTable, "heap + stacks per connection", "B", lower, lib, round, m.heap+m.stack)
			rec.Add(idleTable, "of which heap", "B", lower, lib, round, m.heap)
			rec.Add(idleTable, "of which goroutine stacks", "B", lower, lib, round, m.stack)
			if haveBare {
				rec.Add(idleTable, "heap over the bare handler's", "B", lower, lib, round, m.heap-bare.heap)
			}
		}
		if haveBare {
			rec.Text(idleTable, "bare net/http handler: heap + stacks (heap, stacks)", "ssekit",
				fmt.Sprintf("%s (%s, %s)", formatValue(bare.heap+bare.stack, "B"), formatValue(bare.heap, "B"), formatValue(bare.stack, "B")))
		}
	}
	rec.Note(idleTable, "The bare handler is the floor for the heap, not for stacks: its request goroutine keeps an 8 KiB stack, while go-sse's, parked "+
		"in Joe.Subscribe, is shrunk to 4 KiB by the garbage collector; net/http adds a 2 KiB background-read goroutine per connection to every one of them.")
	rec.Gap(idleTable, "heap", "Heap: a heap profile (MemProfileRate 1, 2,000 idle streams, against the bare handler) puts ssekit's own part at about "+
		"0.8 KiB per stream: the conn, 432 B (the stream's state, with its queue in it, and a wake-up channel); the memory broker's subscription, "+
		"about 185 B (its QueueSubscription, a slot in a partition, the topics' copy); a second sudog, about 96 B, since the request goroutine parks "+
		"on two channels (its wake-up and the request context) where the bare handler parks on one; the per-client count; and three headers "+
		"where the bare handler sets one. No timer and no frames array is kept per idle stream. Parking on one channel, and a subscription "+
		"that is a slot in the broker rather than an object, would bring it to go-sse's.")
	rec.Gap(idleTable, "stacks", "Stacks: where ssekit's are above the bare handler's, its request goroutine kept a 16 KiB stack after "+
		"writing its hello: the collector halves a parked goroutine's stack only when less than a quarter of it is in use. go-sse's request "+
		"goroutine, parked in Joe.Subscribe, is shrunk to 4 KiB.")
	rec.Note(idleTable, "ssekit holds per stream: its request goroutine and stack, its conn (the queue, the write state, a wake-up channel), the "+
		"broker's subscription and the per-client count; the watchdog, one per server, sends heartbeats (no timer per stream). go-sse holds its "+
		"Session and a map entry in Joe; r3labs a 64-slot channel, a Subscriber and an extra goroutine per request waiting on the request's context.")
	return nil
}

func libNames() []string {
	var out []string
	for _, l := range peers() {
		out = append(out, l.Name())
	}
	return out
}

type idleMem struct{ heap, stack float64 } // per connection

func idleRun(c *config, lib string, n int) (idleMem, error) {
	var before, after serverReply
	p, err := startPair(c, pairOpts{lib: lib, n: n, beforeConnect: func(srv *child) error {
		return srv.call(serverCmd{Cmd: "usage", GC: true}, &before)
	}})
	if err != nil {
		return idleMem{}, err
	}
	defer p.stop()
	if err := p.srv.call(serverCmd{Cmd: "usage", GC: true}, &after); err != nil {
		return idleMem{}, err
	}
	st, err := p.lgStatus()
	if err != nil {
		return idleMem{}, err
	}
	if st.Ended > 0 {
		return idleMem{}, fmt.Errorf("%d connections ended while idle", st.Ended)
	}
	return idleMem{
		heap:  (float64(after.HeapInuse) - float64(before.HeapInuse)) / float64(n),
		stack: (float64(after.StackInuse) - float64(before.StackInuse)) / float64(n),
	}, nil
}
