// Package fanout measures a library's fan-out in process: N subscribers,
// each served by the library's own handler on its own goroutine, writing
// into discarding ResponseWriters (package sink), and a publisher.
package fanout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssekit/ssekit/bench/internal/adapter"
	"github.com/ssekit/ssekit/bench/internal/cpu"
	"github.com/ssekit/ssekit/bench/internal/sink"
	"github.com/ssekit/ssekit/bench/internal/stats"
	"github.com/ssekit/ssekit/bench/internal/wire"
)

// Harness is one library's server with N in-process subscribers.
type Harness struct {
	Server adapter.Server
	N      int

	cnt    sink.Counter
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seq    uint64
	want   int64 // deliveries expected once everything published has arrived
}

// Start subscribes n in-process clients to a new server of lib and returns
// once every one of them is subscribed and nothing is in flight. With
// deadlines, the clients' ResponseWriters have SetWriteDeadline.
func Start(lib adapter.Library, n int, deadlines bool) (*Harness, error) {
	h := &Harness{Server: lib.New(adapter.Options{}), N: n}
	handler := h.Server.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	for range n {
		w := sink.New(&h.cnt, deadlines)
		r := httptest.NewRequest(http.MethodGet, h.Server.Path(), nil).WithContext(ctx)
		h.wg.Go(func() { handler.ServeHTTP(w, r) })
	}
	// A client is subscribed once it has been written an event (ssekit's
	// hello counts). Publish one warm-up event at a time, each once the
	// last has stopped arriving, until all are.
	deadline := time.Now().Add(60 * time.Second)
	for h.cnt.Ready() < int64(n) {
		if time.Now().After(deadline) {
			h.Close()
			return nil, fmt.Errorf("only %d of %d subscribers ready after 60s", h.cnt.Ready(), n)
		}
		if err := h.publish(); err != nil {
			h.Close()
			return nil, err
		}
		if _, err := h.quiesce(2*time.Millisecond, 30*time.Second); err != nil {
			h.Close()
			return nil, err
		}
	}
	base, err := h.quiesce(100*time.Millisecond, 60*time.Second)
	if err != nil {
		h.Close()
		return nil, err
	}
	h.want = base
	return h, nil
}

// Frames returns the deliveries counted so far.
func (h *Harness) Frames() int64 { return h.cnt.Frames() }

func (h *Harness) publish() error {
	h.seq++
	return h.Server.Publish(wire.Payload(h.seq, 0))
}

// quiesce waits until deliveries stop changing for stable and returns
// their count.
func (h *Harness) quiesce(stable, limit time.Duration) (int64, error) {
	deadline := time.Now().Add(limit)
	last := h.cnt.Frames()
	for since := time.Now(); time.Since(since) < stable; {
		if time.Now().After(deadline) {
			return 0, errors.New("deliveries did not settle")
		}
		time.Sleep(stable / 10)
		if v := h.cnt.Frames(); v != last {
			last, since = v, time.Now()
		}
	}
	return last, nil
}

// wait blocks until every published event has reached every subscriber.
func (h *Harness) wait(limit time.Duration) error {
	if !h.cnt.WaitFor(h.want, limit) {
		return fmt.Errorf("%d of %d deliveries after %v (server stats %v)", h.cnt.Frames(), h.want, limit, h.Server.Stats())
	}
	return nil
}

// Publisher publishes continuously on its own goroutine, keeping at most
// inflight events in flight, until Stop or its limit. When inflight events
// are in flight it waits until only half as many are (the oldest half has
// reached every subscriber), then fills the window again: a publisher that
// keeps the pipe full, whose backlog lets writers coalesce, as a steady
// stream of events faster than the writers does. (Waiting for just the
// oldest event instead would publish in lock step with the slowest writer,
// one event per writer wake-up.)
type Publisher struct {
	h         *Harness
	published atomic.Int64
	stop      atomic.Bool
	done      chan error
}

// Go starts a Publisher that publishes limit events, or until Stop when
// limit is 0.
func (h *Harness) Go(inflight int, limit int64) *Publisher {
	p := &Publisher{h: h, done: make(chan error, 1)}
	base, n := h.want, int64(h.N)
	h.cnt.Mark()
	go func() {
		var err error
		defer func() { p.done <- err }()
		for !p.stop.Load() && (limit == 0 || p.published.Load() < limit) {
			if pub := p.published.Load(); pub-(h.cnt.Frames()-base)/n >= int64(inflight) {
				// Wait until the oldest half of the events in flight
				// has been delivered to every subscriber: first in
				// total, then to each one, so that no subscriber falls
				// more than the window behind (a writer the scheduler
				// left behind would otherwise overflow its queue).
				if !h.cnt.WaitFor(base+(pub-int64(inflight)/2)*n, 60*time.Second) {
					err = errors.New("publisher: deliveries stalled for 60s")
					return
				}
				for deadline := time.Now().Add(60 * time.Second); h.cnt.MinSince() < pub-int64(inflight)/2; {
					if time.Now().After(deadline) {
						err = errors.New("publisher: a subscriber stalled for 60s")
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
			}
			if err = h.publish(); err != nil {
				return
			}
			p.published.Add(1)
		}
	}()
	return p
}

// Published returns the number of events published so far.
func (p *Publisher) Published() int64 { return p.published.Load() }

// Stop stops publishing and waits until everything published is delivered.
func (p *Publisher) Stop() error {
	p.stop.Store(true)
	return p.Wait()
}

// Wait waits until the publisher has stopped and everything it published
// is delivered.
func (p *Publisher) Wait() error {
	if err := <-p.done; err != nil {
		return err
	}
	p.h.want += p.published.Load() * int64(p.h.N)
	return p.h.wait(120 * time.Second)
}

// Sustained is what a sustained-publishing measurement found.
type Sustained struct {
	Rate         float64       // deliveries per second at the writers
	CPUPerDeliv  time.Duration // process CPU time per delivery
	AllocsPerPub float64       // process allocations per N deliveries (one event's worth)
	BytesPerPub  float64       // process bytes allocated per N deliveries
}

// Sustained publishes continuously, with inflight events in flight, for
// warm and then window, and measures the window. Allocations are counted
// per N deliveries rather than per publish call: with many subscribers a
// window may see few publish calls, but always deliveries.
func (h *Harness) Sustained(inflight int, warm, window time.Duration) (Sustained, error) {
	p := h.Go(inflight, 0)
	time.Sleep(warm)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0, c0, d0 := time.Now(), cpu.Self(), h.cnt.Frames()
	time.Sleep(window)
	t1, c1, d1 := time.Now(), cpu.Self(), h.cnt.Frames()
	runtime.ReadMemStats(&m1)
	if err := p.Stop(); err != nil {
		return Sustained{}, err
	}
	if d1 == d0 {
		return Sustained{}, errors.New("nothing delivered in the window")
	}
	events := float64(d1-d0) / float64(h.N)
	return Sustained{
		Rate:         float64(d1-d0) / t1.Sub(t0).Seconds(),
		CPUPerDeliv:  (c1 - c0) / time.Duration(d1-d0),
		AllocsPerPub: float64(m1.Mallocs-m0.Mallocs) / events,
		BytesPerPub:  float64(m1.TotalAlloc-m0.TotalAlloc) / events,
	}, nil
}

// Single is what a one-event-at-a-time measurement found.
type Single struct {
	Rate         float64       // N divided by the mean fan-out time
	Latency      stats.Summary // fan-out time of one event to all N
	CPUPerDeliv  time.Duration // process CPU time per delivery
	AllocsPerPub float64
}

// OneAtATime publishes one event at a time, each once the last has
// reached every subscriber, for window (at least 5 events).
func (h *Harness) OneAtATime(window time.Duration) (Single, error) {
	var lat stats.Hist
	var total time.Duration
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0 := cpu.Self()
	events := 0
	for start := time.Now(); events < 5 || (time.Since(start) < window && events < 100000); events++ {
		t := time.Now()
		if err := h.PublishOne(); err != nil {
			return Single{}, err
		}
		d := time.Since(t)
		lat.Record(d)
		total += d
	}
	c1 := cpu.Self()
	runtime.ReadMemStats(&m1)
	return Single{
		Rate:         float64(h.N) * float64(events) / total.Seconds(),
		CPUPerDeliv:  (c1 - c0) / time.Duration(h.N*events),
		Latency:      lat.Summary(),
		AllocsPerPub: float64(m1.Mallocs-m0.Mallocs) / float64(events),
	}, nil
}

// PublishOne publishes one event and waits until every subscriber has been
// written it.
func (h *Harness) PublishOne() error {
	if err := h.publish(); err != nil {
		return err
	}
	h.want += int64(h.N)
	return h.wait(30 * time.Second)
}

// Close ends every subscription and the server.
func (h *Harness) Close() error {
	h.cancel()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		err = errors.New("handlers did not return within 30s of their requests' end")
	}
	h.Server.Close()
	return err
}
