package faulttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// Soak load: what one soak keeps going at once. Ports and files: each
// HTTP/1.1 stream holds two descriptors (client and server side), the
// HTTP/2 ones share soakH2Conns connections; far below the 20,000 a
// process may open.
const (
	soakH1Clients = 300
	soakH2Clients = 300
	soakH2Conns   = 30 // HTTP/2 transports, each one TCP connection
	soakTopics    = 40
	soakRate      = 400 // events published per second, over all topics
)

// TestSoak runs for $SOAK (make soak: 10 minutes) a churning population of
// clients over HTTP/1.1 and HTTP/2 with TLS: clients on one to three of
// many topics, each living a while, disconnecting at random moments
// (before its first event too) and resuming with its last ID, some of
// them pausing long enough to be evicted, then replaced by a new one;
// every instance's streams ended at once from time to time; publishing
// all along; a memory broker whose retention age is shorter than the soak.
// What must hold: every client's events exact (all of its topics' events
// since its first stream, up to the last it saw, once and in order, and no
// reset), and once the clients are gone and the retention age has passed,
// goroutines, heap (after GC) and open files back to their baseline. It
// prints a summary.
func TestSoak(t *testing.T) {
	env := os.Getenv("SOAK")
	if env == "" {
		t.Skip("the soak runs only with SOAK set to a duration: make soak (10m), or SOAK=30s go test -run '^TestSoak$' -v ./faulttest/")
	}
	dur, err := time.ParseDuration(env)
	if err != nil || dur <= 0 {
		t.Fatalf("SOAK=%q: want a duration such as 10m or 30s", env)
	}
	age := max(10*time.Second, min(time.Minute, dur/10))
	if age >= dur {
		t.Fatalf("SOAK=%v: want more than the retention age, %v", dur, age)
	}
	rng := rand.New(rand.NewPCG(seed(t), 3))
	b := server.NewMemoryBroker(server.WithRetention(0, age))
	defer b.Close()
	opts := serveConfig{unlogged: true, opts: []server.Option{
		server.WithHeartbeat(time.Second),
		server.WithQueueLimits(server.QueueLimits{Frames: 32}),
		server.WithMaxConnections(0, 0),
	}}
	ins := []*instance{serve(t, http1, b, opts), serve(t, http2, b, opts)}
	h1, _ := newClient(t, http1, clientConfig{})
	h1.Transport.(*http.Transport).MaxIdleConnsPerHost = soakH1Clients
	var h2s []*http.Client
	for range soakH2Conns {
		c, _ := newClient(t, http2, clientConfig{})
		h2s = append(h2s, c)
	}
	// Pausing clients read through small buffers, so that a pause fills
	// them and the server's queue, and gets the stream evicted, rather
	// than being absorbed by megabytes of socket and HTTP/2 buffers.
	slow1, _ := newClient(t, http1, clientConfig{readBuffer: 4 << 10})
	slow1.Transport.(*http.Transport).MaxIdleConnsPerHost = soakH1Clients
	slow2, _ := newClient(t, http2, clientConfig{streamWindow: 16 << 10})
	clients := append([]*http.Client{h1, slow1, slow2}, h2s...)
	topics := make([]string, soakTopics)
	for i := range topics {
		topics[i] = fmt.Sprintf("topic-%02d", i)
	}
	l := newLedger(t, b)
	// What starts once (TLS, HTTP/2, the transports, the broker's
	// topics) starts before the baseline.
	for _, ep := range []endpoint{ins[0].endpoint(h1), ins[0].endpoint(slow1), ins[1].endpoint(h2s[0]), ins[1].endpoint(slow2)} {
		s := newSub(t, "warm-up", topics[:1], ep)
		st, err := s.open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		l.publish(topics[0], 0)
		if _, err := s.read(st); err != nil {
			t.Fatal(err)
		}
		st.close()
	}
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	waitFor(t, "the warm-up streams to end", func() bool { return ins[0].srv.Stats().Open+ins[1].srv.Stats().Open == 0 })
	base := sample()

	overCtx, endSoak := context.WithCancel(context.Background())
	defer endSoak()
	var (
		stats   soakStats
		over    = overCtx.Done()
		pubDone = make(chan struct{})
		slots   sync.WaitGroup
		pubs    sync.WaitGroup
		began   = time.Now()
		tallyM  sync.Mutex
		sum     tally
	)
	record := func(tl tally) {
		tallyM.Lock()
		sum = totals(sum, tl)
		tallyM.Unlock()
	}
	for i := range soakH1Clients + soakH2Clients {
		ep, slow := ins[0].endpoint(h1), ins[0].endpoint(slow1)
		if i >= soakH1Clients {
			ep, slow = ins[1].endpoint(h2s[i%soakH2Conns]), ins[1].endpoint(slow2)
		}
		srng := rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))
		slots.Go(func() {
			soakSlot(t, i, [2]endpoint{ep, slow}, topics, l, srng, age/2, overCtx, pubDone, &stats, record)
		})
	}
	pubs.Go(func() {
		defer close(pubDone)
		tick := time.NewTicker(time.Second / soakRate)
		defer tick.Stop()
		prng := rand.New(rand.NewPCG(rng.Uint64(), 99))
		for n := 0; ; n++ {
			select {
			case <-over:
				return
			case <-tick.C:
			}
			l.publish(topics[prng.IntN(len(topics))], prng.IntN(400))
			if n%(30*soakRate) == 30*soakRate-1 { // every 30 s or so
				ins[n/(30*soakRate)%2].srv.DisconnectAll()
			}
		}
	})
	progress := time.NewTicker(time.Minute)
	defer progress.Stop()
	deadline := time.After(dur)
wait:
	for {
		select {
		case <-deadline:
			break wait
		case <-progress.C:
			t.Logf("soak %v: %d streams, %d events published, %d delivered, %d open now", time.Since(began).Round(time.Second), stats.streams.Load(), l.count(), stats.delivered.Load(), ins[0].srv.Stats().Open+ins[1].srv.Stats().Open)
		}
	}
	endSoak()
	pubs.Wait()
	slots.Wait()
	published := l.count()

	// Everything gone: streams, connections, then retained events.
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	waitFor(t, "every stream to end", func() bool { return ins[0].srv.Stats().Open+ins[1].srv.Stats().Open == 0 })
	l.forget()
	// What is under test is the broker dropping events older than its
	// retention age.
	time.Sleep(age + age/4)
	var final resources
	settled := poll(timeout, func() bool {
		final = sample()
		return final.goroutines <= base.goroutines+soakSlackGoroutines && final.fds <= base.fds+soakSlackFDs && final.heap <= base.heap+soakSlackHeap
	})
	var evicted, resets, conns uint64
	for _, in := range ins {
		st := in.srv.Stats()
		evicted += st.Evicted
		resets += st.Resets
		conns += uint64(in.accepted.Load())
	}
	var tb strings.Builder
	fmt.Fprintf(&tb, "soak of %v (retention age %v), %d HTTP/1.1 and %d HTTP/2 clients at a time on %d topics:\n", dur, age, soakH1Clients, soakH2Clients, soakTopics)
	row := func(k string, format string, v ...any) {
		fmt.Fprintf(&tb, "  %-28s %s\n", k, fmt.Sprintf(format, v...))
	}
	row("clients (lifetimes)", "%d", stats.clients.Load())
	row("streams opened", "%d (on %d TCP connections)", stats.streams.Load(), conns)
	row("events published", "%d", published)
	row("events delivered", "%d", stats.delivered.Load())
	row("events lost", "%d", sum.lost)
	row("events duplicated", "%d", sum.dup)
	row("out of order / not as sent", "%d / %d", sum.reordered, sum.foreign)
	row("evictions", "%d", evicted)
	row("resets", "%d %v", resets, stats.resets)
	row("goroutines", "%d baseline, %d final", base.goroutines, final.goroutines)
	row("heap after GC", "%.1f MB baseline, %.1f MB final", mb(base.heap), mb(final.heap))
	row("open files", "%d baseline, %d final", base.fds, final.fds)
	t.Log(tb.String())
	fmt.Print(tb.String())
	if resets > 0 {
		t.Errorf("%d resets; want none: every client resumed within retention", resets)
	}
	if !settled {
		t.Errorf("resources did not return to their baseline (slack %d goroutines, %d files, %.0f MB of heap): %+v, baseline %+v", soakSlackGoroutines, soakSlackFDs, mb(soakSlackHeap), final, base)
	}
}

const (
	soakSlackGoroutines = 10
	soakSlackFDs        = 10
	soakSlackHeap       = 8 << 20
)

type soakStats struct {
	clients, streams, delivered atomic.Int64

	mu     sync.Mutex
	resets map[string]int // the reset events clients got, by their data
}

func (st *soakStats) reset(data string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.resets == nil {
		st.resets = make(map[string]int)
	}
	st.resets[data]++
}

// soakSlot runs client after client in one slot of the population until
// over is closed, checking each one's events when its life ends.
// A pausing client stops reading, when it is caught up, for up to
// maxPause, half the retention age: it may be evicted, never reset.
func soakSlot(t testing.TB, slot int, eps [2]endpoint, topics []string, l *ledger, rng *rand.Rand, maxPause time.Duration, over context.Context, pubDone <-chan struct{}, stats *soakStats, record func(tally)) {
	ended := func() bool { return over.Err() != nil }
	for gen := 0; !ended(); gen++ {
		var mine []string
		for _, k := range rng.Perm(len(topics))[:1+rng.IntN(3)] {
			mine = append(mine, topics[k])
		}
		pauser := rng.IntN(8) == 0
		ep := eps[0]
		if pauser {
			ep = eps[1]
		}
		s := newSub(t, fmt.Sprintf("slot-%d/%d", slot, gen), mine, ep)
		stats.clients.Add(1)
		life := time.Now().Add(time.Duration(5+rng.IntN(55)) * time.Second)
		for time.Now().Before(life) && !ended() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			st, err := s.open(ctx)
			if err != nil {
				cancel()
				// A reconnection waits, as EventSource waits its retry time.
				time.Sleep(50 * time.Millisecond)
				continue
			}
			stats.streams.Add(1)
			cut := time.Duration(rng.IntN(10_000)) * time.Millisecond
			if rng.IntN(10) == 0 {
				cut = 0 // before the first event
			}
			tm := time.AfterFunc(cut, st.close)
			stopWhenOver := context.AfterFunc(over, st.close)
			for {
				r, err := s.read(st)
				if err != nil {
					break
				}
				stats.delivered.Add(1)
				if pauser && rng.IntN(200) == 0 && fresh(l, r.seq) {
					// A reader that stops reading for a while: its queue
					// may overflow (an eviction), and it resumes.
					select {
					case <-time.After(time.Duration(1 + rng.Int64N(int64(maxPause)))):
					case <-over.Done():
					}
				}
			}
			tm.Stop()
			stopWhenOver()
			st.close()
			cancel()
		}
		s.mu.Lock()
		for _, r := range s.resets {
			stats.reset(r)
		}
		s.mu.Unlock()
		if !s.begun {
			continue
		}
		if ended() {
			// The last client of the slot: every event up to the end.
			<-pubDone
			s.follow(s.caughtUp(l), func(*stream, rec) bool { stats.delivered.Add(1); return true })
			record(s.check(l, 0))
			continue
		}
		l.waitSeq(t, s.lastSeq.Load())
		record(s.check(l, max(s.lastSeq.Load(), s.start)))
	}
}

// fresh reports whether the event seq was published less than a second
// ago: a pausing client pauses only when it is caught up, so that its
// pauses, each under half the retention age, never add up to a lag that
// retention does not cover.
func fresh(l *ledger, seq uint64) bool {
	at, ok := l.publishedAt(seq)
	return !ok || time.Since(at) < time.Second
}

type resources struct {
	goroutines int
	heap       uint64
	fds        int
}

// sample measures the process after a garbage collection.
func sample() resources {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, _ := os.ReadDir("/proc/self/fd")
	return resources{goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc, fds: len(fds)}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }
