package main

import (
	"context"
	"fmt"
	"time"
)

const slowTable = "5. Slow consumer"

func runSlow(ctx context.Context, c *config) error {
	rec := c.rec
	// A load every library carries when all readers read (150,000
	// deliveries/s is about three quarters of what go-sse and r3labs
	// deliver on one core in scenario 3): the scenario is about the stall.
	n := pick(c, 200, 300)
	const rate = 500
	before := pick(c, 1500*time.Millisecond, 3*time.Second)
	after := pick(c, 4*time.Second, 10*time.Second)
	rec.Intro(slowTable, fmt.Sprintf("The loopback set-up of scenario 3 with N = %s connections and %s events/s. Connection 0 has a 4 KiB receive buffer and is left out "+
		"of every figure; the others read everything. After %v of publishing (\"before\"), connection 0 stops reading, and publishing goes on for %v (\"after\"). "+
		"The server's connections get a 16 KiB send buffer (SO_SNDBUF, the same for every library), so that the stalled connection's socket fills in about a second "+
		"at this rate rather than after the kernel has grown it to megabytes. ssekit closes the stalled connection when its queue overflows (4,096 frames, "+
		"about 8 s here) or a write has waited 10 s (WithWriteTimeout's default), whichever comes first. \"Publish call\" is how long the library's publish call took; one still blocked when the phase "+
		"ends counts with the time it has been blocked. \"Published\" is events published over events due at the rate. \"Others received\" is what the %s other readers read (by 1 s after the phase) "+
		"of the events due in the phase at the rate: it falls when publishing stalls, and when what is published does not reach them.", fmtN(n), fmtN(rate), before, after, fmtN(n-1)))
	rec.Gap(slowTable, "publish call", "Publish call: ssekit's Publish stores the event and hands it to the broker's partitions, whose "+
		"goroutines push it to the subscribers' queues, so a call does a constant amount of work while the partitions keep up; with GOMAXPROCS=1 "+
		"the call shares the one core with the partitions and the writers it readies, and a publisher that finds a partition's 4,096 pending events "+
		"full pushes them itself. r3labs's Publish only sends to a 1,024-event channel until that fills, then blocks with everyone else.")
	rec.Gap(slowTable, "published, of events due", "Published before the stall: see the loopback latency note (a starved publisher with GOMAXPROCS=1).")
	rec.Gap(slowTable, "latency", "Latency: see the loopback latency note.")
	for round := range pick(c, 1, 2) {
		for _, lib := range rotate(libNames(), round) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := slowRun(c, lib, n, rate, before, after, round); err != nil {
				rec.Fail(slowTable, lib, err)
			}
		}
	}
	return nil
}

func slowRun(c *config, lib string, n int, rate float64, before, after time.Duration, round int) error {
	rec := c.rec
	p, err := startPair(c, pairOpts{lib: lib, n: n, sndbuf: 16 << 10, stallRcvbuf: 4 << 10})
	if err != nil {
		return err
	}
	defer p.stop()
	var rep loadgenReply
	if err := p.lg.call(loadgenCmd{Cmd: "reset"}, &rep); err != nil {
		return err
	}
	if err := p.srv.call(serverCmd{Cmd: "start", Rate: rate}, new(serverReply)); err != nil {
		return err
	}
	// Before: everyone reads.
	time.Sleep(before)
	var pub1, pub2 serverReply
	if err := p.srv.call(serverCmd{Cmd: "mark"}, &pub1); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // let the phase's last events arrive
	if err := p.lg.call(loadgenCmd{Cmd: "report"}, &rep); err != nil {
		return err
	}
	lat1, frames1 := rep.Lat, rep.Frames
	if err := p.lg.call(loadgenCmd{Cmd: "reset"}, &rep); err != nil {
		return err
	}
	// After: connection 0 stops reading.
	if err := p.lg.call(loadgenCmd{Cmd: "stall"}, &rep); err != nil {
		return err
	}
	time.Sleep(after)
	if err := p.srv.call(serverCmd{Cmd: "stop"}, &pub2); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := p.lg.call(loadgenCmd{Cmd: "report"}, &rep); err != nil {
		return err
	}
	var st serverReply
	_ = p.srv.call(serverCmd{Cmd: "stats"}, &st)
	others := float64(n - 1)

	add := func(metric, unit string, better direction, v float64) {
		rec.Add(slowTable, metric, unit, better, lib, round, v)
	}
	add("before: others' latency p99", "ns", lower, float64(lat1.P99))
	add("after: others' latency p99", "ns", lower, float64(rep.Lat.P99))
	add("after: others' latency max", "ns", lower, float64(rep.Lat.Max))
	add("before: others received, of events due", "%", higher, 100*float64(frames1)/(others*rate*pub1.Elapsed.Seconds()))
	add("after: others received, of events due", "%", higher, 100*float64(rep.Frames)/(others*rate*pub2.Elapsed.Seconds()))
	add("before: publish call p99", "ns", lower, float64(pub1.Pub.P99))
	add("after: publish call p99", "ns", lower, float64(pub2.Pub.P99))
	add("after: publish call max", "ns", lower, float64(pub2.Pub.Max))
	add("before: published, of events due", "%", higher, 100*float64(pub1.Published)/(rate*pub1.Elapsed.Seconds()))
	due := rate * pub2.Elapsed.Seconds()
	add("after: published, of events due", "%", higher, 100*float64(pub2.Published)/due)
	stalled := "no"
	if float64(pub2.Published) < 0.9*due || pub2.Pub.Max > time.Second {
		stalled = fmt.Sprintf("yes (published %d of %.0f due; longest call %v)", pub2.Published, due, pub2.Pub.Max.Round(time.Millisecond))
	}
	rec.Text(slowTable, "publishing stalled after the stall", lib, stalled)
	if ev, ok := st.Stats["evicted"]; ok {
		rec.Text(slowTable, "stalled connection evicted by the server", lib, fmt.Sprint(ev > 0))
	}
	return nil
}
