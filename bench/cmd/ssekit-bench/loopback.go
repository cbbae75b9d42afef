package main

import (
	"context"
	"fmt"
	"time"
)

const loopTable = "3. Loopback end to end"

func runLoopback(ctx context.Context, c *config) error {
	rec := c.rec
	rec.Intro(loopTable, "A real http.Server on 127.0.0.1 in a server process (this binary re-executed, pinned to CPU 0, GOMAXPROCS=1) and N raw TCP readers in a load-generator "+
		"process (pinned to CPU 1, GOMAXPROCS=1): each reader sends a plain HTTP/1.1 GET, undoes the chunked coding and finds the send timestamp in each payload, nothing else. "+
		"After every connection is subscribed (warm-up events until each has read one), the server publishes 100-byte JSON events at a fixed rate for the window, each "+
		"carrying two times: when it was due at that rate, and time.Now() just before the publish call. \"Latency from the publish call\" is read time minus "+
		"the second; \"latency from the due time\" minus the first, which adds the time the publisher was held up by earlier publish calls that blocked (a "+
		"publisher more than 1s behind skips the slots it missed, so that figure is bounded by about a second plus the backlog). Deliveries/s counts events read during the window; delivered is the share "+
		"of published×N read by the end of a drain of up to 5s (3s with -short; it ends early after 1s with nothing read). Server CPU is the server process's getrusage (user+system) from the start of publishing to the end of the "+
		"drain, per event read; the CPU columns show how busy each pinned core was. A library that cannot keep up shows it as a lower publish rate (its publish blocks), "+
		"fewer deliveries, latency growing with the backlog, or (ssekit) connections evicted and closed for overflowing their queues.")
	rec.Gap(loopTable, "latency", "Latency: where ssekit's latency is higher, its server core is saturated (\"server CPU busy\" near 100%) while it delivers "+
		"several times what the peers deliver: it takes every event and the backlog waits in the connections' queues. go-sse and r3labs saturate earlier, and "+
		"their publish call blocks instead: go-sse's \"events published/s\" falls far below the rate, and the events it does not publish are in no "+
		"\"from the publish call\" figure (\"from the due time\" shows the part of that wait that the publisher saw). At the knee (N = 1,000 at 1,000 events/s) "+
		"ssekit's writers mostly find one frame per stream when they take it and pay a write system call and a flush per delivery, against a "+
		"fraction of one at 5,000 events/s where frames coalesce (see \"write system calls per delivery\" in scenario 9). What would lower it: "+
		"coalescing sooner under load, for example an opt-in write delay of a fraction of a millisecond when a writer finds a single frame while "+
		"the previous write found several.")
	ns := pick(c, []int{1000}, []int{1000, 5000})
	rates := []float64{200, 1000, 5000}
	window := pick(c, time.Second, 4*time.Second)
	rounds := pick(c, 1, 2)
	for round := range rounds {
		for _, n := range ns {
			for _, rate := range rates {
				for _, lib := range rotate(peers(), round) {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					label := fmt.Sprintf("N = %s, %s events/s", fmtN(n), fmtN(int(rate)))
					if err := loopbackRun(c, lib.Name(), n, rate, window, label, round); err != nil {
						rec.Fail(loopTable, lib.Name(), fmt.Errorf("%s: %w", label, err))
					}
				}
			}
		}
	}
	if rounds == 1 {
		rec.Note(loopTable, "One round (-short): no spread.")
	}
	return nil
}

func loopbackRun(c *config, lib string, n int, rate float64, window time.Duration, label string, round int) error {
	rec := c.rec
	p, err := startPair(c, pairOpts{lib: lib, n: n})
	if err != nil {
		return err
	}
	defer p.stop()
	if err := p.lg.call(loadgenCmd{Cmd: "reset"}, new(loadgenReply)); err != nil {
		return err
	}
	var u0, u1 serverReply
	if err := p.srv.call(serverCmd{Cmd: "usage"}, &u0); err != nil {
		return err
	}
	lg0, err := p.lgStatus()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := p.srv.call(serverCmd{Cmd: "start", Rate: rate}, new(serverReply)); err != nil {
		return err
	}
	time.Sleep(window)
	var pub serverReply
	if err := p.srv.call(serverCmd{Cmd: "stop"}, &pub); err != nil {
		return err
	}
	inWindow, err := p.lgStatus()
	if err != nil {
		return err
	}
	// A publish still in progress at stop (a blocked one) may complete
	// and be delivered later.
	published := int64(pub.Published)
	if pub.Stuck > 0 {
		published++
	}
	want := published * int64(n)
	if _, err := p.drain(want, time.Second, pick(c, 3*time.Second, 5*time.Second)); err != nil {
		return err
	}
	elapsed := time.Since(t0)
	if err := p.srv.call(serverCmd{Cmd: "usage"}, &u1); err != nil {
		return err
	}
	var rep loadgenReply
	if err := p.lg.call(loadgenCmd{Cmd: "report"}, &rep); err != nil {
		return err
	}
	var st serverReply
	_ = p.srv.call(serverCmd{Cmd: "stats"}, &st)

	rec.Add(loopTable, label+": deliveries/s", "/s", higher, lib, round, float64(inWindow.Frames)/pub.Elapsed.Seconds())
	rec.Add(loopTable, label+": delivered", "%", higher, lib, round, 100*float64(rep.Frames)/float64(max(want, 1)))
	rec.Add(loopTable, label+": latency from the publish call, p50", "ns", lower, lib, round, float64(rep.Lat.P50))
	rec.Add(loopTable, label+": latency from the publish call, p99", "ns", lower, lib, round, float64(rep.Lat.P99))
	rec.Add(loopTable, label+": latency from the publish call, max", "ns", lower, lib, round, float64(rep.Lat.Max))
	rec.Add(loopTable, label+": latency from the due time, p50", "ns", lower, lib, round, float64(rep.LatDue.P50))
	rec.Add(loopTable, label+": latency from the due time, p99", "ns", lower, lib, round, float64(rep.LatDue.P99))
	rec.Add(loopTable, label+": server CPU per delivery", "ns", lower, lib, round, float64(u1.CPU-u0.CPU)/float64(max(rep.Frames, 1)))
	rec.Add(loopTable, label+": server CPU busy", "%", neither, lib, round, 100*float64(u1.CPU-u0.CPU)/float64(elapsed))
	rec.Add(loopTable, label+": load generator CPU busy", "%", neither, lib, round, 100*float64(rep.CPU-lg0.CPU)/float64(elapsed))
	rec.Add(loopTable, label+": events published/s", "/s", higher, lib, round, float64(pub.Published)/pub.Elapsed.Seconds())
	if ev := st.Stats["evicted"]; ev > 0 || rep.Ended > 0 {
		rec.Text(loopTable, label+": connections closed by the server", lib, fmt.Sprintf("%d (evicted %d)", rep.Ended, ev))
	}
	return nil
}
