package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

const manyTable = "9. Many concurrent streams"

// The set-up of scenario 9. Every process may hold 20,000 open files on
// the machines this runs on, so the server holds at most 19,000 sockets and
// the readers are spread over several load generators.
const (
	manyRate         = 10 // events per second
	manyLoadgens     = 4
	manyBatch        = 1000
	manyBatchTimeout = 10 * time.Second
)

func runMany(ctx context.Context, c *config) error {
	rec := c.rec
	n := pick(c, 5000, 19000)
	window := pick(c, 10*time.Second, 60*time.Second)
	rec.Intro(manyTable, strings.Join([]string{
		fmt.Sprintf("N = %s streams on one server process, each sent %d events/s for %v.", fmtN(n), manyRate, window),
		fmt.Sprintf("The set-up of scenario 3 (the server process on CPU 0, GOMAXPROCS=1, raw readers), with the readers spread over %d load-generator "+
			"processes of %s connections each, all on CPU 1 with GOMAXPROCS=1 each: every process may hold at most 20,000 open files (the harness raises "+
			"each one's soft limit to the hard limit).", manyLoadgens, fmtN(n/manyLoadgens)),
		fmt.Sprintf("The connections are opened in batches of %s (shared out over the load generators, up to 64 dials at a time in each); a batch has %v "+
			"for every connection to be made and for the server to have read its request (its http.Server's ConnState), which is what \"opening\" times. "+
			"A batch that misses that, or has a failed dial, ends the opening, and the run goes on with the streams that are open; connections refused "+
			"with an error status, or ended before the window, count as failed.", fmtN(manyBatch), manyBatchTimeout),
		"After a warm-up (as in scenario 3, but at 2 events/s: until every stream has read an event, then 1 s with nothing arriving), the server " +
			"publishes 100-byte JSON events at the rate, and each reader checks the events' sequence numbers: every event of the window once, in order. " +
			"\"Lost\" counts the events that a stream open at the start of the window had not read by the end of the drain, a dropped stream's included.",
		fmt.Sprintf("The drain after the window ends when every event is read, after 2 s with nothing read, or after %v (5 s with -short): a server "+
			"that fell behind writes its backlog late, and what is still unread then counts as lost.", manyDrain(c)),
		"Memory is the server's HeapInuse+StackInuse (and RSS) after two runtime.GC, in the bare process (the library set up, no connection) and with " +
			"every stream open, warm and idle; \"per stream\" is the growth over the bare process divided by the streams open.",
		"Server CPU is getrusage from the start of publishing to the end of the drain, busy as a share of one core and per event read; write system " +
			"calls per delivery (syscw of /proc/self/io over the same span) say how many events a library coalesces into one write.",
		"Latency is from the publish call to the read, over every stream's events (the load generators' histograms merged); \"from the due time\" " +
			"adds any time the publisher was held up by earlier publish calls.",
	}, " "))
	rec.Note(manyTable, "Heartbeats: ssekit runs with its default (DefaultHeartbeat, 15 s of silence), which events 100 ms apart never let fall due in the window; "+
		"go-sse v0.11.0 and r3labs v2.10.0 have no heartbeat to turn on (neither writes keep-alive comments), so they run without.")
	rec.Note(manyTable, "Connection caps: ssekit's adapter sets WithMaxConnections(0, 0), as in every scenario; its defaults would refuse, from 127.0.0.1, "+
		"the 1,001st stream (DefaultMaxPerClient, 429) and any past 10,000 (DefaultMaxConnections, 503). go-sse, r3labs and net/http have no cap.")
	rec.Note(manyTable, "Server CPU busy is of the server's core (CPU 0), which it shares with whatever else the machine runs: a library that cannot keep up shows "+
		"less than 100% when the core is shared, and it is compared by CPU per delivery, not by busy, since a publish that blocks (go-sse) publishes fewer events.")
	rec.Gap(manyTable, "stacks", "Stacks: two goroutines per stream, the request's and net/http's 2 KiB background read. Where ssekit's "+
		"are above the bare handler's 10 KiB, request goroutines kept a 16 KiB stack grown while writing (a backlog, a replay): the "+
		"collector halves a parked goroutine's stack only when less than a quarter of it is in use. The handler parks in a shallow "+
		"frame (its set-up runs in a function that has returned), so that an idle stream's stack shrinks back to the bare handler's.")
	rec.Gap(manyTable, "latency", "Latency against go-sse: go-sse's Joe writes each event to every stream in one goroutine, a write and a flush each, and "+
		"takes the next event only when done, so Publish waits for the previous event's fan-out; at this N that takes longer than the 100 ms between "+
		"events, and the harness's publisher, held up, skips the slots it misses: go-sse publishes only part of the "+
		"events due (\"events published\") and its latency covers only those. ssekit takes every event, and when its core cannot write 190,000 deliveries/s "+
		"the backlog waits in the streams' queues and is written in coalesced writes (\"write system calls per delivery\" below 1), which lowers the CPU per "+
		"delivery but not the wait. How far behind it falls depends on how much of its core it gets: the figures spread with the machine's load. What would "+
		"close it is less CPU per delivery on the write path, or, for latency, shedding old events for streams that fall behind, as a bounded queue "+
		"by age would.")
	rec.Gap(manyTable, "drain", "Drain: the backlog of the latency note, written after the window.")
	rec.Gap(manyTable, "events published", "Published: ssekit's Publish stores the event and hands it to the broker's partitions, which push it to "+
		"the streams' queues; a publisher that finds a partition's pending events full (4,096) pushes them itself, so that memory stays bounded, "+
		"and then waits for those pushes, on the core its writers share; when it falls more than 1 s behind the rate, the publisher skips the "+
		"slots missed.")
	rec.Gap(manyTable, "opening", "Opening: the server's one core takes the connections and sets up each new stream (for ssekit the subscription, the hello "+
		"and its first write) in turn, so a costlier set-up slows the accept rate; not profiled yet.")
	if c.short {
		rec.Note(manyTable, fmt.Sprintf("-short: N = %s and a %v window instead of 19,000 and 60 s, one round.", fmtN(n), window))
	}
	for round := range pick(c, 1, 2) {
		for _, lib := range rotate(libNames(), round) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := manyRun(ctx, c, lib, n, window, round); err != nil {
				rec.Fail(manyTable, lib, err)
			}
		}
	}
	return nil
}

// manyDrain is the longest the drain after the window may take.
func manyDrain(c *config) time.Duration { return pick(c, 5*time.Second, 20*time.Second) }

func manyRun(ctx context.Context, c *config, lib string, n int, window time.Duration, round int) error {
	rec := c.rec
	add := func(metric, unit string, better direction, v float64) {
		rec.Add(manyTable, metric, unit, better, lib, round, v)
	}
	var bare serverReply
	// A gentle warm-up: scenario 3's 20 events/s would be twice the load
	// of the window here, and a server that fell behind in it would still
	// be writing when the idle memory is measured.
	p, err := startPair(c, pairOpts{lib: lib, n: n, loadgens: manyLoadgens, batch: manyBatch, batchTimeout: manyBatchTimeout,
		warmRate: 2, settle: time.Second,
		beforeConnect: func(srv *child) error { return srv.call(serverCmd{Cmd: "usage", GC: true}, &bare) }})
	if err != nil {
		return err
	}
	defer p.stop()
	logf("  %s: %s connections made in %v", lib, fmtN(int(p.open.dialled)), p.open.took.Round(time.Millisecond))
	add("opening: time to open every connection", "ns", lower, float64(p.open.took))
	add(fmt.Sprintf("opening: slowest batch of %s", fmtN(manyBatch)), "ns", lower, float64(p.open.slowest))
	add("opening: connections served per second", "/s", higher, float64(p.open.dialled)/p.open.took.Seconds())
	if p.open.stopped != "" {
		rec.Text(manyTable, "opening stopped short", lib, p.open.stopped)
	}

	var idle serverReply
	if err := p.srv.call(serverCmd{Cmd: "usage", GC: true}, &idle); err != nil {
		return err
	}
	rs, err := p.lgCall(loadgenCmd{Cmd: "reset"})
	if err != nil {
		return err
	}
	open := rs.Tracked
	add("streams open for the window", "", higher, float64(open))
	add("connections failed before the window", "", lower, float64(int64(n)-open))
	if int64(n) > open && rs.LastErr != "" {
		rec.Text(manyTable, "why connections failed (the last error)", lib, rs.LastErr)
	}
	if open == 0 {
		return fmt.Errorf("no stream open of %s (%s)", fmtN(n), rs.LastErr)
	}
	perStream := func(after, before uint64) float64 { return (float64(after) - float64(before)) / float64(open) }
	add("server heap + stacks, bare process", "B", neither, float64(bare.HeapInuse+bare.StackInuse))
	add("server heap + stacks, streams open", "B", neither, float64(idle.HeapInuse+idle.StackInuse))
	add("server heap + stacks per stream, growth over the bare process", "B", lower, perStream(idle.HeapInuse+idle.StackInuse, bare.HeapInuse+bare.StackInuse))
	add("of which heap", "B", lower, perStream(idle.HeapInuse, bare.HeapInuse))
	add("of which goroutine stacks", "B", lower, perStream(idle.StackInuse, bare.StackInuse))
	add("server RSS per stream, growth over the bare process", "B", lower, perStream(idle.RSS, bare.RSS))
	add("server goroutines per stream", "", lower, float64(idle.Goroutines-bare.Goroutines)/float64(open))

	var u0, u1, pub serverReply
	if err := p.srv.call(serverCmd{Cmd: "usage"}, &u0); err != nil {
		return err
	}
	lg0, err := p.lgStatus()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := p.srv.call(serverCmd{Cmd: "start", Rate: manyRate}, new(serverReply)); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-time.After(window):
	}
	if err := p.srv.call(serverCmd{Cmd: "stop"}, &pub); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var handed int64 // events handed to the library, the one in progress at stop included
	if pub.Last >= pub.First {
		handed = int64(pub.Last - pub.First + 1)
	}
	// Drain: a server that fell behind is still writing; what it writes
	// late is late, not lost.
	drainLimit := manyDrain(c)
	td := time.Now()
	if _, err := p.drain(handed*open, 2*time.Second, drainLimit); err != nil {
		return err
	}
	drained := time.Since(td)
	elapsed := time.Since(t0)
	// The check first, then the CPU: a server still writing its backlog
	// delivers more in between, which the figures of the window leave out.
	chk, err := p.lgCall(loadgenCmd{Cmd: "check", First: pub.First, Last: pub.Last})
	if err != nil {
		return err
	}
	if err := p.srv.call(serverCmd{Cmd: "usage"}, &u1); err != nil {
		return err
	}
	rep, err := p.lgCall(loadgenCmd{Cmd: "report"})
	if err != nil {
		return err
	}
	var st serverReply
	_ = p.srv.call(serverCmd{Cmd: "stats"}, &st)

	add("server CPU busy", "%", neither, 100*float64(u1.CPU-u0.CPU)/float64(elapsed))
	add("server CPU per delivery", "ns", lower, float64(u1.CPU-u0.CPU)/float64(max(rep.Frames, 1)))
	if u1.Writes > 0 {
		add("server write system calls per delivery", "", lower, float64(u1.Writes-u0.Writes)/float64(max(rep.Frames, 1)))
	}
	add(fmt.Sprintf("load generators' CPU busy (%d processes, one core)", manyLoadgens), "%", neither, 100*float64(rep.CPU-lg0.CPU)/float64(elapsed))
	add("latency from the publish call, p50", "ns", lower, float64(rep.Lat.P50))
	add("latency from the publish call, p99", "ns", lower, float64(rep.Lat.P99))
	add("latency from the publish call, max", "ns", lower, float64(rep.Lat.Max))
	add("latency from the due time, p99", "ns", lower, float64(rep.LatDue.P99))
	add("events published, of events due", "%", higher, 100*float64(pub.Published)/(manyRate*pub.Elapsed.Seconds()))
	add("delivered, of events published × streams", "%", higher, 100*float64(chk.Frames)/float64(max(handed*open, 1)))
	add("drain: from the end of the window to the last event read", "ns", lower, float64(drained))
	behind := drained >= drainLimit && chk.Frames < handed*open
	if behind {
		rec.Text(manyTable, "events still arriving when the drain ended", lib,
			fmt.Sprintf("yes: %s of %s unread after %v", fmtN(int(handed*open-chk.Frames)), fmtN(int(handed*open)), drainLimit))
	}
	add("events lost (not read by the end of the drain)", "", lower, float64(chk.Lost))
	add("streams that lost events", "", lower, float64(chk.LostConns))
	add("events read twice or out of order", "", lower, float64(chk.Dups))
	add("connections dropped during the window", "", lower, float64(rep.Ended-rs.Ended))
	if ev, ok := st.Stats["evicted"]; ok {
		add("streams evicted by the server as too slow (ssekit)", "", lower, float64(ev))
	}
	// Last, and not while the server is still writing a backlog: its one
	// core is busy with that, and the collections would wait for it
	// (ssekit's took 39s once).
	const afterMetric = "server heap + stacks per stream after the window"
	if behind {
		rec.Text(manyTable, afterMetric, lib, "not measured: still writing its backlog")
		return nil
	}
	var after serverReply
	if err := p.srv.callWithin(serverCmd{Cmd: "usage", GC: true}, &after, 60*time.Second); err != nil {
		rec.Text(manyTable, afterMetric, lib, "no answer within 60s")
		return nil
	}
	add(afterMetric, "B", lower, perStream(after.HeapInuse+after.StackInuse, bare.HeapInuse+bare.StackInuse))
	return nil
}
