package faulttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// propertyBudget bounds the property test's time: it runs random cases
// until the budget is spent (at least propertyMin of them).
const (
	propertyBudget = 6 * time.Second
	propertyMin    = 4
)

// reader is how one subscriber of a property case reads.
type reader struct {
	delay     time.Duration // after each event: a slow reader
	pauseOdds int           // 1 in pauseOdds events, stop reading for a while; 0: never
	cutOdds   int           // 1 in cutOdds events, disconnect; 0: never
}

// TestProperty is a property test of a connection's bounded queue and
// writer: random queue limits (server.WithQueueLimits), random publishing
// (event sizes, bursts, topics), random readers (fast, slow, pausing) and
// random disconnects, over a random protocol. Whatever the case, what must
// hold: every subscriber gets every event of its topics once, in order; a
// healthy one on one stream, and one the server evicted (its queue
// overflowed while it was slow) or that disconnected resumes from its last
// ID with no gap and no duplicate. Cases are seeded: a failing one prints
// the seed that reproduces it (-seed).
func TestProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(seed(t), 1))
	began := time.Now()
	var evicted, healthy, cases int
	for i := 0; i < propertyMin || time.Since(began) < propertyBudget; i++ {
		cs := rng.Uint64()
		t.Run(fmt.Sprintf("case%d", i), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("case seed %d (the test's seed is logged below)", cs)
				}
			})
			e, h := propertyCase(t, rand.New(rand.NewPCG(cs, 2)))
			evicted += e
			healthy += h
		})
		cases++
		if t.Failed() {
			break
		}
	}
	t.Logf("property: %d cases in %v: %d streams evicted, %d subscribers healthy throughout", cases, time.Since(began).Round(time.Millisecond), evicted, healthy)
}

// propertyCase runs one random case and returns how many streams the server
// evicted and how many subscribers kept one stream.
func propertyCase(t testing.TB, rng *rand.Rand) (evicted, healthy int) {
	t.Helper()
	p := protos[rng.IntN(2)]
	limits := server.QueueLimits{Frames: 1 + rng.IntN(64), Bytes: 512 + rng.IntN(64<<10)}
	topics := []string{"x", "y", "z"}
	b := memoryBroker(t, server.WithRetention(100_000, 0))
	in := serve(t, p, b, serveConfig{opts: []server.Option{server.WithQueueLimits(limits), server.WithHeartbeat(200 * time.Millisecond)}})
	c, _ := newClient(t, p, clientConfig{})
	l := newLedger(t, b)

	n := 2 + rng.IntN(5)
	subs := make([]*sub, n)
	readers := make([]reader, n)
	for i := range n {
		var mine []string
		for _, k := range rng.Perm(len(topics))[:1+rng.IntN(len(topics))] {
			mine = append(mine, topics[k])
		}
		subs[i] = newSub(t, fmt.Sprintf("sub-%d", i), mine, in.endpoint(c))
		switch rng.IntN(4) {
		case 0: // fast
		case 1:
			readers[i].delay = time.Duration(200+rng.IntN(1500)) * time.Microsecond
		case 2:
			readers[i].pauseOdds = 20 + rng.IntN(100)
		case 3:
			readers[i].cutOdds = 10 + rng.IntN(100)
		}
	}
	t.Logf("%s, limits %+v, %d subscribers: %+v", p.name, limits, n, readers)

	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range subs {
		rr := rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))
		wg.Go(func() { propertyRead(t, s, readers[i], l, rr, done) })
	}
	waitFor(t, "every subscriber's first stream", func() bool {
		for _, s := range subs {
			if s.opened() == 0 {
				return false
			}
		}
		return true
	})
	events := 100 + rng.IntN(400)
	for i := 0; i < events; {
		for burst := 1 + rng.IntN(50); burst > 0 && i < events; burst-- {
			l.publish(topics[rng.IntN(len(topics))], rng.IntN(2000))
			i++
		}
		if rng.IntN(3) == 0 {
			// A pause in publishing: time passing is what lets a slow
			// reader catch up, or not.
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		}
	}
	close(done)
	wg.Wait()
	for _, s := range subs {
		s.check(l, 0)
		if s.opened() == 1 {
			healthy++
		}
	}
	return int(in.srv.Stats().Evicted), healthy
}

// propertyRead reads s's topics the way r says, reconnecting after every
// end of a stream (an eviction, or its own disconnect), until done is
// closed and it has every event.
func propertyRead(t testing.TB, s *sub, r reader, l *ledger, rng *rand.Rand, done <-chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	finished := func() bool {
		select {
		case <-done:
			return s.caughtUp(l)()
		default:
			return false
		}
	}
	for !finished() {
		if ctx.Err() != nil {
			t.Errorf("%s: timed out at %s after %d streams (%q)", s.name, s.lastSeqOrStart(), s.opened(), s.ends)
			return
		}
		st, err := s.open(ctx)
		if err != nil {
			continue
		}
		end := make(chan struct{})
		go func() {
			poll(timeout, func() bool {
				select {
				case <-end:
					return true
				default:
					return finished()
				}
			})
			st.close()
		}()
		for {
			if _, err := s.read(st); err != nil {
				break
			}
			// Slow readers and pauses: what is under test is the time a
			// reader takes.
			if r.delay > 0 {
				time.Sleep(r.delay)
			}
			if r.pauseOdds > 0 && rng.IntN(r.pauseOdds) == 0 {
				time.Sleep(time.Duration(20+rng.IntN(100)) * time.Millisecond)
			}
			if r.cutOdds > 0 && rng.IntN(r.cutOdds) == 0 {
				break
			}
		}
		close(end)
		st.close()
	}
}
