package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// frameCounter counts the frames its writers deliver and wakes a waiter
// once a target is reached.
type frameCounter struct {
	frames  atomic.Int64
	target  atomic.Int64
	reached chan struct{}
}

func newFrameCounter() *frameCounter { return &frameCounter{reached: make(chan struct{}, 1)} }

func (c *frameCounter) add(n int64) {
	if c.frames.Add(n) >= c.target.Load() {
		select {
		case c.reached <- struct{}{}:
		default:
		}
	}
}

// wait returns once n frames have been delivered in all.
func (c *frameCounter) wait(n int64) {
	c.target.Store(n)
	for c.frames.Load() < n {
		<-c.reached
	}
}

// discardWriter is a client connection in process: an http.ResponseWriter
// and http.Flusher that drops what it is given and counts the frames (each
// ends with a blank line, which may straddle two writes).
type discardWriter struct {
	header http.Header
	count  *frameCounter
	lastLF bool
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(int)     {}
func (w *discardWriter) Flush()              {}

// SetWriteDeadline and SetReadDeadline are there for
// http.ResponseController, as on a real connection: without them, it
// returns a new error on every call.
func (w *discardWriter) SetWriteDeadline(time.Time) error { return nil }
func (w *discardWriter) SetReadDeadline(time.Time) error  { return nil }

func (w *discardWriter) Write(b []byte) (int, error) {
	n := int64(bytes.Count(b, []byte("\n\n")))
	if w.lastLF && len(b) > 0 && b[0] == '\n' {
		n++
	}
	w.lastLF = len(b) > 0 && b[len(b)-1] == '\n'
	if n > 0 {
		w.count.add(n)
	}
	return len(b), nil
}

// subscribers streams subs in-process connections of topic "bench" through
// the real handler, each counting the frames written to it, until the
// benchmark ends; it returns once every hello is written: all are
// subscribed.
func subscribers(b *testing.B, subs int) (*server.MemoryBroker, *server.Server, *frameCounter) {
	broker := server.NewMemoryBroker()
	srv := server.New(broker, server.WithLogger(quiet), server.WithMaxConnections(0, 0), server.WithHeartbeat(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	count := newFrameCounter()
	var wg sync.WaitGroup
	for range subs {
		w := &discardWriter{header: make(http.Header), count: count}
		r := httptest.NewRequest(http.MethodGet, "/?topic=bench", nil).WithContext(ctx)
		wg.Go(func() { srv.ServeHTTP(w, r) })
	}
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		broker.Close()
	})
	count.wait(int64(subs))
	return broker, srv, count
}

// BenchmarkPublish publishes one typed event per operation to subscribers
// of one topic, each streamed by the real handler (Server.ServeHTTP) into
// an in-process connection, and waits until every subscriber has been
// written the event: ns/op is the cost of one event's fan-out to all.
func BenchmarkPublish(b *testing.B) {
	for _, subs := range []int{1, 100, 1000, 10000} {
		b.Run(strconv.Itoa(subs), func(b *testing.B) {
			broker, srv, count := subscribers(b, subs)

			var sent int64
			p := Price{Symbol: "ACME", Cents: 12345}
			// The publish call's own time, apart from the fan-out it
			// starts: it must not grow with the subscribers.
			calls := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if _, err := server.Publish(context.Background(), broker, "bench", priceTick, p); err != nil {
					b.Fatal(err)
				}
				if len(calls) < cap(calls) {
					calls = append(calls, time.Since(start))
				}
				sent++
				count.wait(int64(subs) * (1 + sent))
			}
			b.ReportMetric(float64(subs)*float64(sent)/b.Elapsed().Seconds(), "deliveries/s")
			slices.Sort(calls)
			b.ReportMetric(float64(calls[len(calls)/2].Nanoseconds()), "call-p50-ns")
			b.ReportMetric(float64(calls[len(calls)*99/100].Nanoseconds()), "call-p99-ns")
			if st := srv.Stats(); st.Evicted != 0 {
				b.Fatalf("Got(Stats().Evicted) = %d; want 0", st.Evicted)
			}
		})
	}
}

// BenchmarkPublishSustained publishes continuously to subscribers of one
// topic, keeping up to 256 events in flight (waiting for the older half to
// reach every subscriber before it goes on): the throughput of fan-out
// when the writers have a backlog to coalesce, in deliveries/s.
func BenchmarkPublishSustained(b *testing.B) {
	for _, subs := range []int{100, 1000, 10000} {
		b.Run(strconv.Itoa(subs), func(b *testing.B) {
			broker, srv, count := subscribers(b, subs)
			const inflight = 256
			var sent int64
			p := Price{Symbol: "ACME", Cents: 12345}
			b.ReportAllocs()
			for b.Loop() {
				if sent >= inflight {
					count.wait(int64(subs) * (1 + sent - inflight/2))
				}
				if _, err := server.Publish(context.Background(), broker, "bench", priceTick, p); err != nil {
					b.Fatal(err)
				}
				sent++
			}
			count.wait(int64(subs) * (1 + sent))
			b.ReportMetric(float64(subs)*float64(sent)/b.Elapsed().Seconds(), "deliveries/s")
			if st := srv.Stats(); st.Evicted != 0 {
				b.Fatalf("Got(Stats().Evicted) = %d; want 0", st.Evicted)
			}
		})
	}
}

// BenchmarkReplay1000 reads a replay of 1,000 events from a cursor, in the
// server's page size, from one topic and merged from two.
func BenchmarkReplay1000(b *testing.B) {
	for _, topics := range [][]string{{"a"}, {"a", "b"}} {
		b.Run(strconv.Itoa(len(topics))+"Topics", func(b *testing.B) {
			broker := server.NewMemoryBroker()
			defer broker.Close()
			ctx := context.Background()
			var from uint64
			for i := range 1001 {
				id, err := server.Publish(ctx, broker, topics[i%len(topics)], priceTick, Price{Symbol: "ACME", Cents: int64(i)})
				if err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					e, _ := server.ParseEventID(id)
					from = e.Seq
				}
			}
			var frames []server.Frame
			b.ReportAllocs()
			for b.Loop() {
				cur, err := broker.Replay(ctx, topics, from)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					frames, err = cur.Next(ctx, frames[:0], 256<<10)
					if err != nil {
						b.Fatal(err)
					}
					if len(frames) == 0 {
						break
					}
					n += len(frames)
				}
				if n != 1000 {
					b.Fatalf("replayed %d frames; want 1000", n)
				}
				cur.Close()
			}
		})
	}
}

// BenchmarkPublishTyped encodes, frames and publishes a small struct on a
// broker with no subscribers: the fixed cost of an event.
func BenchmarkPublishTyped(b *testing.B) {
	broker := server.NewMemoryBroker()
	defer broker.Close()
	ctx := context.Background()
	p := Price{Symbol: "ACME", Cents: 12345}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := server.Publish(ctx, broker, "prices", priceTick, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleConnectionMemory opens 2,000 real idle streams over
// loopback, with the clients in the same process, and reports the heap and
// stack in use per connection: bytes/conn for the Server, bare-bytes/conn
// for a handler that only writes its headers, flushes and blocks (what
// net/http and the client cost anyway), and server-bytes/conn for the
// difference, which is what the Server itself holds per stream. An
// iteration is one such measurement of each; the metrics are averages.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	const conns = 2000
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	var total, base float64
	var runs int
	for b.Loop() {
		broker := server.NewMemoryBroker()
		srv := server.New(broker, server.WithLogger(quiet), server.WithMaxConnections(0, 0))
		total += idleMemory(b, srv, conns, func() bool { return srv.Stats().Open == 0 })
		broker.Close()
		base += idleMemory(b, bare, conns, func() bool { return true })
		runs++
	}
	b.ReportMetric(total/float64(runs), "bytes/conn")
	b.ReportMetric(base/float64(runs), "bare-bytes/conn")
	b.ReportMetric((total-base)/float64(runs), "server-bytes/conn")
}

// idleMemory opens n streams to h and returns the growth of HeapInuse and
// StackInuse per stream once they are all open.
func idleMemory(b *testing.B, h http.Handler, n int, closed func() bool) float64 {
	b.Helper()
	ts := httptest.NewServer(h)
	defer ts.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: -1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	before := inUse()
	bodies := make([]*http.Response, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	for g := range 50 {
		wg.Go(func() {
			for i := g; i < n; i += 50 {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/?topic=idle", nil)
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				bodies[i] = resp
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("opening %d streams: %v", n, err)
	}
	after := inUse()

	cancel()
	for _, resp := range bodies {
		resp.Body.Close()
	}
	waitFor(b, "the streams to close", closed)
	return float64(after-before) / float64(n)
}

func inUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
