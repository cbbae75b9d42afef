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
	rec.Gap(idleTable, "heap", "Heap: ssekit keeps about 2 KiB per idle stream over the bare handler. A heap profile (MemProfileRate 1, 2,000 streams, "+
		"against the bare handler) puts a quarter of it in context.AfterFunc (the registration in the request context's children and its closure), then the "+
		"subscription (memSub, its Queue and ready channel, the topics' copy, map entries in the broker and the server), the conn and its heartbeat timer, and "+
		"the queue's frames array kept from the last burst. Selecting on the request context's Done channel again, instead of context.AfterFunc, and "+
		"dropping the queue's array on a silent heartbeat would save about a third.")
	rec.Gap(idleTable, "stacks", "Stacks: the same 10 KiB as the bare handler (an 8 KiB request goroutine and net/http's 2 KiB background read); go-sse's "+
		"request goroutine, parked deeper in Joe.Subscribe, is shrunk to 4 KiB by the garbage collector. Nothing for ssekit to fix.")
	rec.Note(idleTable, "ssekit holds per stream: its goroutine and stack, a heartbeat timer and wake-up channel, the subscription's queue and "+
		"the per-IP bookkeeping; go-sse its Session and a map entry in Joe; r3labs a 64-slot channel, a Subscriber and an extra goroutine per request waiting on the "+
		"request's context.")
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
