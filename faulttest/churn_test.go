package faulttest

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the randomized tests (churn, property); 0 picks one, printed on failure")

// seed returns the seed of a randomized test: -seed, or one of its own,
// which the test prints if it fails.
func seed(t testing.TB) uint64 {
	t.Helper()
	s := *seedFlag
	if s == 0 {
		s = rand.Uint64()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d: go test ./faulttest -run '^%s$' -seed %d", s, t.Name(), s)
		}
	})
	return s
}

// TestChurn runs clients on one to three of six topics that disconnect at
// random moments, while events come in bursts and pauses: right after the
// hello (before their first event), in the middle of a burst, during a
// pause, and all at once (DisconnectAll). Each resumes with the last ID it
// saw, or the hello's id when it saw no event. With everything retained,
// what must hold: each client ends with exactly its topics' events since
// its first stream, in order, and no reset.
func TestChurn(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		rng := rand.New(rand.NewPCG(seed(t), 0))
		topics := []string{"t0", "t1", "t2", "t3", "t4", "t5"}
		b := memoryBroker(t, server.WithRetention(100_000, 0))
		in := serve(t, p, b, serveConfig{opts: []server.Option{server.WithHeartbeat(200 * time.Millisecond)}})
		c, _ := newClient(t, p, clientConfig{})
		l := newLedger(t, b)

		const clients = 24
		var subs []*sub
		for i := range clients {
			var mine []string
			for _, k := range rng.Perm(len(topics))[:1+rng.IntN(3)] {
				mine = append(mine, topics[k])
			}
			subs = append(subs, newSub(t, fmt.Sprintf("client-%d", i), mine, in.endpoint(c)))
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		var cuts atomic.Int64
		for i, s := range subs {
			crng := rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))
			wg.Go(func() { churn(t, s, l, crng, done, &cuts) })
		}
		// Bursts and pauses, and twice every stream at once.
		for burst := range 30 {
			for range 1 + rng.IntN(60) {
				l.publish(topics[rng.IntN(len(topics))], rng.IntN(200))
			}
			if burst == 10 || burst == 20 {
				in.srv.DisconnectAll()
			}
			// A pause: what is under test is clients leaving while nothing
			// is published.
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		}
		close(done)
		wg.Wait()
		sum := checkAll(t, l, subs...)
		var streams int
		for _, s := range subs {
			streams += s.opened()
		}
		t.Logf("churn: %d clients opened %d streams (%d cut by the client) for %d events: %+v; server %+v", clients, streams, cuts.Load(), l.count(), sum, in.srv.Stats())
	})
}

// churn follows s's topics, ending each stream from the client's side after
// a random time (sometimes right after its hello), until done is closed;
// then it catches up without cutting.
func churn(t testing.TB, s *sub, l *ledger, rng *rand.Rand, done <-chan struct{}, cuts *atomic.Int64) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	finished := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	for {
		if finished() && s.caughtUp(l)() {
			return
		}
		if ctx.Err() != nil {
			t.Errorf("%s: timed out at %s after %d streams (%q)", s.name, s.lastSeqOrStart(), s.opened(), s.ends)
			return
		}
		st, err := s.open(ctx)
		if err != nil {
			continue
		}
		var stop func() bool
		if finished() {
			// Catch up, then end.
			last := l.last(s.topics)
			go func() {
				poll(timeout, func() bool { return s.lastSeq.Load() >= last })
				st.close()
			}()
		} else if rng.IntN(8) == 0 {
			cuts.Add(1)
			st.close() // before the first event
		} else {
			life := time.Duration(rng.IntN(300)) * time.Millisecond
			tm := time.AfterFunc(life, func() {
				cuts.Add(1)
				st.close()
			})
			stop = tm.Stop
		}
		for {
			if _, err := s.read(st); err != nil {
				break
			}
		}
		if stop != nil {
			stop()
		}
		st.close()
	}
}
