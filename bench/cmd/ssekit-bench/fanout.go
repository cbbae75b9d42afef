package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ssekit/ssekit/bench/internal/adapter"
	"github.com/ssekit/ssekit/bench/internal/fanout"
)

const (
	fanoutTable    = "2a. In-process fan-out, sustained publishing"
	fanoutLatTable = "2b. In-process fan-out, one event at a time"
	// fanoutWindow is how many events the sustained publisher keeps in
	// flight (see fanout.Publisher): with that many in flight, it waits
	// until half of them have reached every subscriber. It stays well
	// under ssekit's default queue of 4,096 frames, so that no subscriber
	// is evicted, and above what go-sse (one publish at a time) and r3labs
	// (a 1,024-event channel, then 64 per subscriber) buffer on their own;
	// for large N it is capped at fanoutBacklog/N, so that the backlog
	// drained after each measurement stays bounded.
	fanoutWindow  = 512
	fanoutBacklog = 2_000_000
)

func runFanout(ctx context.Context, c *config) error {
	rec := c.rec
	rec.Intro(fanoutTable, fmt.Sprintf("One topic, N subscribers, each served by the library's own http.Handler on its own goroutine, writing into a discarding in-process ResponseWriter "+
		"that implements http.Flusher (and, for ssekit, SetWriteDeadline/SetReadDeadline, as net/http's own does). A publisher goroutine publishes 100-byte JSON events "+
		"continuously, keeping up to %d events in flight (%s/N when that is less; with that many in flight it waits until the older half has reached every subscriber, then fills the window again); deliveries are counted at the writers (each blank line written) over a "+
		"measurement window that starts after a warm-up. Allocations are all of the process's (publisher, handlers, writers) over the window, divided by the events delivered to all N (deliveries/N); CPU time is the process's user+system time over the window (getrusage) per delivery, the figure least disturbed by other load on the machine; "+
		"each publish allocates its payload (1 allocation, the same for every library). Defaults otherwise: go-sse's Joe with no replayer, r3labs with AutoReplay off, "+
		"ssekit's memory broker with its default retention of 10,000 events.", fanoutWindow, fmtN(fanoutBacklog)))
	rec.Intro(fanoutLatTable, "The same set-up; the publisher publishes one event and waits until all N subscribers have been written it before the next: the time of one event's fan-out to all, "+
		"and N divided by it.")
	rec.Note(fanoutTable, "Reference points given with the task (a 2-core box): go-sse about 4.3 M deliveries/s at N = 1,000, r3labs about 0.84 M/s; ssekit's target is at least twice go-sse, with allocations per publish independent of N.")
	for _, t := range []string{fanoutTable, fanoutLatTable} {
		rec.Gap(t, "deliveries/s", "In process a write costs nothing, so the figure is the cost of reaching each subscriber. go-sse's Joe loops over its "+
			"subscribers in one goroutine, a WriteTo and a Flush each. ssekit does that work in two stages, so that no slow client stalls a loop "+
			"(scenario 5): the memory broker's partitions, one per core, push the frame to each stream's queue, and a pool of writers, one per core, "+
			"writes each stream that has frames waiting, with one write and one flush. In a CPU profile of one event at a time at N = 10,000 "+
			"(server's BenchmarkPublish/10000), the pushes take 23% (the queues' locks 8%), the writers 60% (the write and flush 18%, the "+
			"benchmark's counting writer 16%, reaching each stream's state most of the rest), the scheduler under 10%. What is left is touching "+
			"each stream twice, from two goroutines and often two cores, where at N = 10,000 the streams' state no longer fits in the cache; "+
			"writing a stream from the partition that pushed to it, when no writer holds it, would touch it once.")
		rec.Gap(t, "CPU time per delivery", "CPU per delivery: as for deliveries/s.")
	}
	rec.Gap(fanoutTable, "bytes allocated", "Bytes per publish: ssekit's publish allocates the frame once (the event's lines, with the id line "+
		"written in front in place) and the returned ID; the rest is the subscribers' queues growing to the backlog's size once per stream, up to "+
		"the window's events of 32 bytes each, which a short window does not amortize (at N = 10,000, 10,000 arrays). A queue keeps its array "+
		"across bursts and gives it back once idle.")
	rec.Gap(fanoutTable, "allocations per publish", "Allocations per publish: ssekit's publish makes the same few whatever N (the message and its "+
		"bytes, the encoder's output, the returned ID); above that, the per-stream queues still growing in the window.")
	ns := pick(c, []int{100, 1000, 10000}, []int{100, 1000, 10000})
	window := pick(c, 300*time.Millisecond, time.Second)
	for round := range c.rounds {
		for _, n := range ns {
			for _, lib := range rotate(peers(), round) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				res, err := fanoutRun(lib, n, true, window)
				if err != nil {
					rec.Fail(fanoutTable, lib.Name(), fmt.Errorf("N=%d: %w", n, err))
					continue
				}
				name := lib.Name()
				nn := fmtN(n)
				rec.Add(fanoutTable, "N = "+nn+": deliveries/s", "/s", higher, name, round, res.Rate)
				rec.Add(fanoutTable, "N = "+nn+": CPU time per delivery", "ns", lower, name, round, float64(res.CPUPerDeliv))
				rec.Add(fanoutTable, "N = "+nn+": allocations per publish", "allocs", lower, name, round, res.AllocsPerPub)
				rec.Add(fanoutTable, "N = "+nn+": bytes allocated per publish", "B", lower, name, round, res.BytesPerPub)
				rec.Add(fanoutLatTable, "N = "+nn+": deliveries/s", "/s", higher, name, round, res.single.Rate)
				rec.Add(fanoutLatTable, "N = "+nn+": fan-out time per event, p50", "ns", lower, name, round, float64(res.single.Latency.P50))
				rec.Add(fanoutLatTable, "N = "+nn+": fan-out time per event, p99", "ns", lower, name, round, float64(res.single.Latency.P99))
				rec.Add(fanoutLatTable, "N = "+nn+": CPU time per delivery", "ns", lower, name, round, float64(res.single.CPUPerDeliv))
				rec.Add(fanoutLatTable, "N = "+nn+": allocations per publish", "allocs", lower, name, round, res.single.AllocsPerPub)
				if res.evicted > 0 {
					rec.Note(fanoutTable, fmt.Sprintf("ssekit evicted %d subscribers at N = %s in round %d: the figure is not valid.", res.evicted, nn, round+1))
				}
			}
		}
		// The wrapper that hides the deadline methods: ssekit alone, at
		// N = 1,000, side by side with the same round's figures.
		res, err := fanoutRun(adapter.SSEKit{}, 1000, false, window)
		if err != nil {
			rec.Fail(fanoutTable, "ssekit", fmt.Errorf("no-deadline writer: %w", err))
			continue
		}
		rec.Add(fanoutTable, "N = 1,000, writer without SetWriteDeadline: deliveries/s", "/s", higher, "ssekit", round, res.Rate)
		rec.Add(fanoutTable, "N = 1,000, writer without SetWriteDeadline: CPU time per delivery", "ns", lower, "ssekit", round, float64(res.CPUPerDeliv))
		rec.Add(fanoutTable, "N = 1,000, writer without SetWriteDeadline: allocations per publish", "allocs", lower, "ssekit", round, res.AllocsPerPub)
	}
	rec.Note(fanoutTable, "\"Writer without SetWriteDeadline\": a ResponseWriter wrapper that hides the deadline methods (and has no Unwrap). ssekit's writer calls "+
		"http.ResponseController.SetWriteDeadline before every write; on such a wrapper that returns a new error each time (http.ErrNotSupported wrapped with fmt.Errorf), "+
		"which costs allocations per write and per subscriber. Wrappers should implement Unwrap() http.ResponseWriter.")
	return nil
}

// fmtN writes n with its thousands grouped: 19,000; 1,000,000.
func fmtN(n int) string {
	if n < 0 {
		return "-" + fmtN(-n)
	}
	if n < 1000 {
		return fmt.Sprint(n)
	}
	return fmtN(n/1000) + fmt.Sprintf(",%03d", n%1000)
}

type fanoutResult struct {
	fanout.Sustained
	single  fanout.Single
	evicted uint64
}

// fanoutRun measures one library at one N: sustained, then one at a time.
func fanoutRun(lib adapter.Library, n int, deadlines bool, window time.Duration) (res fanoutResult, err error) {
	h, err := fanout.Start(lib, n, deadlines)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := h.Close(); err == nil {
			err = cerr
		}
	}()
	inflight := min(fanoutWindow, max(fanoutBacklog/n, 16))
	if res.Sustained, err = h.Sustained(inflight, window/3, window); err != nil {
		return res, err
	}
	if res.single, err = h.OneAtATime(window); err != nil {
		return res, err
	}
	if st := h.Server.Stats(); st != nil {
		res.evicted = st["evicted"]
	}
	return res, nil
}
