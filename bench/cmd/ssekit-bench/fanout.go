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
			"subscribers in one goroutine, a WriteTo and a Flush each, about 0.2 µs per delivery. ssekit readies each connection's writer goroutine: in a CPU "+
			"profile of one event at a time at N = 1,000, the queue push and its channel signal take 16% of the CPU, the writer parking and waking in its "+
			"two-case select 29% (selectgo, sellock, the scheduler), Fetch 12%, the write and flush through http.ResponseController 20% (half of it the "+
			"harness's counting writer): about 1 µs per wake-up. That is the price of a writer per connection, which is what keeps one slow client from "+
			"stalling the others (scenario 5) and spreads writes over every core; with a backlog, sustained publishing coalesces frames into one write per "+
			"batch and the gap closes (compare 2a with 2b). Going further in process would mean writing from the publisher's goroutine to connections whose "+
			"writer is idle, which gives up that isolation; the fixable part is the allocations below.")
		rec.Gap(t, "CPU time per delivery", "CPU per delivery: as for deliveries/s; at N = 10,000 a writer rarely finds more than a few frames waiting, so "+
			"ssekit pays nearly a wake-up per delivery.")
	}
	rec.Gap(fanoutTable, "bytes allocated", "Bytes per publish: ssekit copies the event three times on its way in (sse.AppendEvent's frame, the "+
		"string(data) copy for sse.Event.Data, the broker's copy with the id line in front), about 400 bytes for these events, where go-sse keeps one "+
		"Message; the rest is the subscribers' queues growing to the backlog's size, once per stream, which a short window does not amortize. Framing "+
		"from the []byte data, with room reserved for the id line so that the broker need not copy, would leave one copy.")
	rec.Gap(fanoutTable, "allocations per publish", "Allocations per publish: four in ssekit's publish whatever N (the frame, the string(data) copy, the "+
		"broker's copy, the returned ID string) plus the benchmark's payload; above that, the per-stream queue and frame slices still growing in the "+
		"window (at N = 10,000 a short window is mostly warm-up). The copies above are the ones to remove.")
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
