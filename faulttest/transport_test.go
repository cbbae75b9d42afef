package faulttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// The transport tests run each case over HTTP/1.1 and over HTTP/2 with TLS:
// HTTP/2 is a transport of its own (streams multiplexed on one connection,
// flow control per stream, deadlines that reset streams), not a detail of
// HTTP/1.1's.

// subtest is a named subtest for concurrently.
type subtest struct {
	name string
	f    func(t *testing.T)
}

// concurrently runs the subtests at once and returns when all are done.
// They do not call t.Parallel, which would make each wait for one of go
// test's -parallel slots (GOMAXPROCS: 2 here) for what is mostly waiting
// on a network, a timer or a process; they run beside each other within
// their parent's slot instead (t.Run may be called from several
// goroutines).
func concurrently(t *testing.T, tests ...subtest) {
	t.Helper()
	var wg sync.WaitGroup
	for _, tt := range tests {
		wg.Go(func() { t.Run(tt.name, tt.f) })
	}
	wg.Wait()
}

// forEachProto runs f as a subtest per protocol, concurrently.
func forEachProto(t *testing.T, f func(t *testing.T, p proto)) {
	t.Helper()
	var tests []subtest
	for _, p := range protos {
		tests = append(tests, subtest{p.name, func(t *testing.T) { f(t, p) }})
	}
	concurrently(t, tests...)
}

// following starts follow for every sub at once, until done is closed and
// the sub has every event published on its topics by then; the function
// it returns waits for them all.
func following(l *ledger, done <-chan struct{}, subs ...*sub) (wait func()) {
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() {
			s.follow(func() bool {
				select {
				case <-done:
					return s.caughtUp(l)()
				default:
					return false
				}
			}, nil)
		})
	}
	return wg.Wait
}

// checkAll checks every sub against the ledger and logs the totals.
func checkAll(tb testing.TB, l *ledger, subs ...*sub) tally {
	tb.Helper()
	var ts []tally
	for _, s := range subs {
		ts = append(ts, s.check(l, 0))
	}
	sum := totals(ts...)
	tb.Logf("%d clients, %d events published: %d lost, %d duplicated, %d out of order", len(subs), l.count(), sum.lost, sum.dup, sum.reordered)
	return sum
}

// wantProto fails unless st came over p.
func wantProto(tb testing.TB, st *stream, p proto) {
	tb.Helper()
	if major := st.resp.ProtoMajor; (major == 2) != p.h2 {
		tb.Fatalf("stream over %s; want %s", st.resp.Proto, p.name)
	}
}

// TestStreaming fans events of two topics out to clients of one, the other
// or both. Over HTTP/2 every stream shares one connection. Each client must
// get every event of its topics once, in order.
func TestStreaming(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		b := memoryBroker(t)
		in := serve(t, p, b, serveConfig{})
		c, _ := newClient(t, p, clientConfig{})
		l := newLedger(t, b)
		subs := []*sub{
			newSub(t, "a", []string{"a"}, in.endpoint(c)),
			newSub(t, "b", []string{"b"}, in.endpoint(c)),
			newSub(t, "ab", []string{"a", "b"}, in.endpoint(c)),
			newSub(t, "ba", []string{"b", "a"}, in.endpoint(c)),
		}
		streams := make([]*stream, len(subs))
		for i, s := range subs {
			st, err := s.open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wantProto(t, st, p)
			streams[i] = st
		}
		for i := range 300 {
			l.publish([]string{"a", "b"}[i%2], i%7*100)
		}
		var wg sync.WaitGroup
		for i, s := range subs {
			wg.Go(func() {
				last := l.last(s.topics)
				for s.lastSeq.Load() < last {
					if _, err := s.read(streams[i]); err != nil {
						t.Errorf("%s: %v", s.name, err)
						return
					}
				}
			})
		}
		wg.Wait()
		checkAll(t, l, subs...)
		if p.h2 && in.accepted.Load() != 1 {
			t.Errorf("%d TCP connections for %d HTTP/2 streams of one client; want 1", in.accepted.Load(), len(subs))
		}
	})
}

// TestReplay resumes clients from an ID in the middle of what is retained,
// from a hello's id, and after more events than one page of replay and one
// connection's queue hold, while live events keep coming: each must get
// exactly what it missed, then the live events.
func TestReplay(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		b := memoryBroker(t, server.WithRetention(20_000, 0))
		in := serve(t, p, b, serveConfig{opts: []server.Option{server.WithQueueLimits(server.QueueLimits{Frames: 64})}})
		c, _ := newClient(t, p, clientConfig{})
		l := newLedger(t, b)

		// From the hello's id: the client saw no event before it went.
		fromHello := newSub(t, "from-hello", []string{"a", "b"}, in.endpoint(c))
		st, err := fromHello.open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st.close()

		var mid entry
		for i := range 3000 {
			e := l.publish([]string{"a", "b", "c"}[i%3], 200)
			if i == 1500 {
				mid = e
			}
		}
		fromMid := newSub(t, "from-middle", []string{"a", "c"}, in.endpoint(c))
		fromMid.lastID = server.EventID{Epoch: b.Epoch(), Seq: mid.seq}.String()

		// Live events while the replays run.
		done := make(chan struct{})
		wait := following(l, done, fromHello, fromMid)
		for i := range 500 {
			l.publish([]string{"a", "b", "c"}[i%3], 50)
		}
		close(done)
		wait()
		checkAll(t, l, fromHello, fromMid)
		if st := in.srv.Stats(); st.Replayed == 0 {
			t.Errorf("Stats().Replayed = 0; want the replays counted")
		}
	})
}

// TestIdleStream leaves a stream without events or heartbeats for several
// write timeouts: a deadline must bound a write in flight, never an idle
// stream (Go's HTTP/2 server resets a stream whose deadline passes, even
// with nothing to write). The stream must still deliver the next event, on
// the same connection.
func TestIdleStream(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		const writeTimeout = 250 * time.Millisecond
		b := memoryBroker(t)
		in := serve(t, p, b, serveConfig{opts: []server.Option{server.WithWriteTimeout(writeTimeout), server.WithHeartbeat(time.Hour)}})
		c, _ := newClient(t, p, clientConfig{})
		l := newLedger(t, b)
		s := newSub(t, "idle", []string{"a"}, in.endpoint(c))
		l.publish("a", 0)
		st, err := s.open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer st.close()
		// What is under test is time passing with nothing written.
		time.Sleep(6 * writeTimeout)
		l.publish("a", 0)
		if _, err := s.read(st); err != nil {
			t.Fatalf("the event after idling: %v", err)
		}
		s.check(l, 0)
		if n := in.srv.Stats().Connections; n != 1 || in.accepted.Load() != 1 {
			t.Errorf("%d streams on %d connections; want 1 on 1 (the idle stream was reset)", n, in.accepted.Load())
		}
	})
}

// publishUntil publishes events of size pad on topic, one at a time, and
// waits after each until every healthy sub has it, until done reports true:
// the healthy streams make progress while something else is stuck.
func publishUntil(t testing.TB, l *ledger, topic string, pad int, healthy []*sub, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for i := 0; !done(); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("after %d events: timed out waiting for %s", i, what)
		}
		e := l.publish(topic, pad)
		for _, s := range healthy {
			waitFor(t, fmt.Sprintf("%s to get seq %d", s.name, e.seq), func() bool { return s.lastSeq.Load() >= e.seq })
		}
	}
}

// TestStalledStream stops reading one stream's body while two other
// streams of the same client keep reading; over HTTP/2 all three share one
// TCP connection, and the stalled stream blocks only on its own flow-control
// window. The others must get every event, on the same connection, while
// the stalled one is evicted; once it reads again, it must resume with
// exactly what it missed.
func TestStalledStream(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		b := memoryBroker(t)
		in := serve(t, p, b, serveConfig{
			sendBuffer: 16 << 10,
			opts: []server.Option{
				server.WithQueueLimits(server.QueueLimits{Frames: 16}),
				server.WithWriteTimeout(500 * time.Millisecond),
			},
		})
		c, _ := newClient(t, p, clientConfig{streamWindow: 64 << 10, readBuffer: 16 << 10})
		l := newLedger(t, b)
		stalled := newSub(t, "stalled", []string{"a"}, in.endpoint(c))
		st, err := stalled.open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer st.close()
		healthy := []*sub{
			newSub(t, "healthy-1", []string{"a"}, in.endpoint(c)),
			newSub(t, "healthy-2", []string{"a"}, in.endpoint(c)),
		}
		stop := make(chan struct{})
		wait := following(l, stop, healthy...)
		waitFor(t, "three open streams", func() bool { return in.srv.Stats().Open == 3 })
		publishUntil(t, l, "a", 4<<10, healthy, "the stalled stream's eviction", func() bool { return in.srv.Stats().Evicted > 0 })
		// The healthy streams go on after the eviction too.
		more := l.count() + 20
		publishUntil(t, l, "a", 4<<10, healthy, "20 more events", func() bool { return l.count() >= more })
		close(stop)
		wait()
		for _, s := range healthy {
			if s.opened() != 1 {
				t.Errorf("%s opened %d streams; want 1 (its stream was cut with the stalled one: %q)", s.name, s.opened(), s.ends)
			}
		}
		if p.h2 && in.accepted.Load() != 1 {
			t.Errorf("%d TCP connections; want 1 shared by the three HTTP/2 streams", in.accepted.Load())
		}
		// The stalled client reads again: what was buffered, the end of its
		// stream, then a resumed stream.
		for {
			if _, err := stalled.read(st); err != nil {
				break
			}
		}
		stalled.follow(stalled.caughtUp(l), nil)
		checkAll(t, l, append(healthy, stalled)...)
		t.Logf("Stats() = %+v", in.srv.Stats())
	})
}

// TestStoppedReadingPeer connects a client that stops reading its socket,
// on an http.Server prepared by ConfigureHTTP. Over HTTP/2 only the
// WriteByteTimeout it sets can end such a connection: the stream's own
// deadline resets the stream, but the reset waits behind the blocked
// write. The stream must be evicted while another client's stream goes on,
// Shutdown must then finish at once, and the peer, once it comes back on a
// new connection, must resume exactly.
//
// Measured: over HTTP/2 with TLS the eviction comes about 5 s after the
// WriteByteTimeout (500 ms here), not at it: when the write fails the
// HTTP/2 server closes the tls.Conn, whose Close first writes a
// close_notify alert under a 5 s deadline of crypto/tls's own, into the
// same full socket.
func TestStoppedReadingPeer(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		b := memoryBroker(t)
		in := serve(t, p, b, serveConfig{
			sendBuffer: 8 << 10,
			opts: []server.Option{
				server.WithQueueLimits(server.QueueLimits{Frames: 8}),
				server.WithWriteTimeout(500 * time.Millisecond),
			},
		})
		if p.h2 && in.hs.HTTP2.WriteByteTimeout != 500*time.Millisecond {
			t.Fatalf("HTTP2.WriteByteTimeout = %v; want ConfigureHTTP to set the write timeout", in.hs.HTTP2.WriteByteTimeout)
		}
		l := newLedger(t, b)
		pc, pd := newClient(t, p, clientConfig{readBuffer: 8 << 10})
		peer := newSub(t, "peer", []string{"a"}, in.endpoint(pc))
		st, err := peer.open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer st.close()
		for _, c := range pd.opened() {
			c.stall()
		}
		hc, _ := newClient(t, p, clientConfig{})
		healthy := newSub(t, "healthy", []string{"a"}, in.endpoint(hc))
		stop := make(chan struct{})
		wait := following(l, stop, healthy)
		waitFor(t, "two open streams", func() bool { return in.srv.Stats().Open == 2 })
		stalledAt := time.Now()
		publishUntil(t, l, "a", 8<<10, []*sub{healthy}, "the stalled peer's eviction", func() bool { return in.srv.Stats().Evicted > 0 })
		t.Logf("the peer that stopped reading was evicted %v after, %d events later", time.Since(stalledAt).Round(time.Millisecond), l.count())
		waitFor(t, "the peer's stream to end", func() bool { return in.srv.Stats().Open == 1 })
		close(stop)
		wait()

		// The peer comes back, with its last ID, on a new connection of a
		// client with ordinary buffers (with its 8 KB receive buffer, a
		// replay of megabytes would not keep up with the 500 ms write
		// timeout).
		for _, c := range pd.opened() {
			c.Close()
		}
		st.close()
		back, _ := newClient(t, p, clientConfig{})
		peer.eps = []endpoint{in.endpoint(back)}
		peer.follow(peer.caughtUp(l), nil)
		checkAll(t, l, healthy, peer)

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		began := time.Now()
		if err := in.shutdown(ctx); err != nil {
			t.Fatalf("http.Server.Shutdown() = %v after %v; want nil at once", err, time.Since(began))
		}
	})
}

// TestDisconnectAll ends every stream from the server, twice, while events
// keep coming: every client must see a clean end, reconnect with its
// Last-Event-ID and end with every event once, in order.
func TestDisconnectAll(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		b := memoryBroker(t)
		in := serve(t, p, b, serveConfig{})
		c, _ := newClient(t, p, clientConfig{})
		l := newLedger(t, b)
		var subs []*sub
		for i := range 6 {
			subs = append(subs, newSub(t, fmt.Sprintf("client-%d", i), [][]string{{"a"}, {"b"}, {"a", "b"}}[i%3], in.endpoint(c)))
		}
		done := make(chan struct{})
		wait := following(l, done, subs...)
		for round := range 3 {
			waitFor(t, "every client on a new stream", func() bool {
				for _, s := range subs {
					if s.opened() <= round {
						return false
					}
				}
				return true
			})
			for i := range 100 {
				l.publish([]string{"a", "b"}[i%2], 0)
			}
			if round < 2 {
				in.srv.DisconnectAll()
			}
		}
		close(done)
		wait()
		checkAll(t, l, subs...)
		for _, s := range subs {
			if s.eofs < 2 {
				t.Errorf("%s saw %d clean ends of its stream; want 2, one per DisconnectAll (ends %q)", s.name, s.eofs, s.ends)
			}
		}
	})
}

// TestShutdown shuts down one of two instances on one broker while its
// clients stream: http.Server.Shutdown, through ConfigureHTTP, must end the
// streams first and return at once, and the clients must move to the other
// instance with their Last-Event-ID and lose nothing.
func TestShutdown(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		b := memoryBroker(t)
		first := serve(t, p, b, serveConfig{})
		second := serve(t, p, b, serveConfig{})
		c, _ := newClient(t, p, clientConfig{})
		l := newLedger(t, b)
		var subs []*sub
		for i := range 4 {
			subs = append(subs, newSub(t, fmt.Sprintf("client-%d", i), []string{"a"}, first.endpoint(c), second.endpoint(c)))
		}
		done := make(chan struct{})
		wait := following(l, done, subs...)
		waitFor(t, "every stream open on the first instance", func() bool { return first.srv.Stats().Open == len(subs) })
		for range 100 {
			l.publish("a", 0)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		began := time.Now()
		if err := first.shutdown(ctx); err != nil {
			t.Fatalf("http.Server.Shutdown() = %v after %v; want nil, the streams ended first", err, time.Since(began))
		}
		t.Logf("http.Server.Shutdown with %d open streams took %v", len(subs), time.Since(began))
		for range 100 {
			l.publish("a", 0)
		}
		waitFor(t, "every client on the second instance", func() bool { return second.srv.Stats().Open == len(subs) })
		close(done)
		wait()
		checkAll(t, l, subs...)
	})
}

// TestDisconnectAllDuringSetup calls DisconnectAll while a stream is being
// set up: admitted (counted in Stats().Open), its Subscribe still on its way
// to the broker (with NATS, Subscribe and Replay take a round trip each).
// An instance drained with DisconnectAll must not keep such a stream: it
// must end like every other open stream, and its client resume.
func TestDisconnectAllDuringSetup(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		mb := memoryBroker(t)
		b := &gatedBroker{Broker: mb, entered: make(chan struct{}), release: make(chan struct{})}
		in := serve(t, p, b, serveConfig{})
		c, _ := newClient(t, p, clientConfig{})
		l := newLedger(t, mb)
		s := newSub(t, "client", []string{"a"}, in.endpoint(c))
		opened := make(chan *stream, 1)
		go func() {
			st, err := s.open(context.Background())
			if err != nil {
				t.Error(err)
			}
			opened <- st
		}()
		select {
		case <-b.entered:
		case <-time.After(timeout):
			t.Fatal("Subscribe was not called")
		}
		if open := in.srv.Stats().Open; open != 1 {
			t.Fatalf("Stats().Open = %d during Subscribe; want 1", open)
		}
		in.srv.DisconnectAll()
		close(b.release)
		st := <-opened
		if st == nil {
			return
		}
		defer st.close()
		l.publish("a", 0)
		if r, err := s.read(st); err == nil {
			t.Fatalf("after DisconnectAll, the stream delivered seq %d; want it ended", r.seq)
		}
	})
}

// gatedBroker holds the first Subscribe until release is closed.
type gatedBroker struct {
	server.Broker
	once             sync.Once
	entered, release chan struct{}
}

func (b *gatedBroker) Subscribe(ctx context.Context, req server.SubscribeRequest) (server.Subscription, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return b.Broker.Subscribe(ctx, req)
}
