package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/ssekit/ssekit/server"
)

// The faults of a network path, injected by toxiproxy (embedded as a
// library) between clients and a server. Each test states what must hold;
// every one of them also checks that a client connected to the server
// directly, beside the faulty path, is unaffected: every event once, in
// order, on one stream.

func init() {
	// toxiproxy's toxics log through zerolog's global logger.
	zerolog.SetGlobalLevel(zerolog.Disabled)
}

// toxi is a toxiproxy proxy in front of one upstream address.
type toxi struct {
	p *toxiproxy.Proxy
}

var toxiNames atomic.Int64

// newToxi starts a proxy on a loopback port that forwards to upstream,
// stopped at cleanup.
func newToxi(tb testing.TB, upstream string) *toxi {
	tb.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, fmt.Sprintf("proxy-%d", toxiNames.Add(1)), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		tb.Fatalf("toxiproxy: start: %v", err)
	}
	tb.Cleanup(p.Stop)
	return &toxi{p: p}
}

// add adds a toxic; stream is "downstream" (server to client) or
// "upstream" (client to server). It applies to open connections too.
func (x *toxi) add(tb testing.TB, name, typ, stream string, attrs map[string]any) {
	tb.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "type": typ, "stream": stream, "attributes": attrs})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := x.p.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		tb.Fatalf("toxiproxy: add %s: %v", name, err)
	}
}

// remove removes a toxic.
func (x *toxi) remove(tb testing.TB, name string) {
	tb.Helper()
	if err := x.p.Toxics.RemoveToxic(context.Background(), name); err != nil {
		tb.Fatalf("toxiproxy: remove %s: %v", name, err)
	}
}

// endpoint is the proxy's address for the stream endpoint of an instance
// of protocol p.
func (x *toxi) endpoint(p proto, c *http.Client) endpoint {
	return endpoint{url: schemeOf(p) + x.p.Listen + "/events", client: c}
}

func schemeOf(p proto) string {
	if p.h2 {
		return "https://"
	}
	return "http://"
}

// faultFixture is an instance, a proxy in front of it and a client that
// reaches it directly, beside the proxy.
type faultFixture struct {
	b       *server.MemoryBroker
	in      *instance
	x       *toxi
	l       *ledger
	control *sub
}

func newFaultFixture(t testing.TB, p proto, opts ...server.Option) *faultFixture {
	t.Helper()
	f := &faultFixture{b: memoryBroker(t)}
	f.in = serve(t, p, f.b, serveConfig{opts: opts})
	f.x = newToxi(t, f.in.addr)
	f.l = newLedger(t, f.b)
	c, _ := newClient(t, p, clientConfig{})
	f.control = newSub(t, "control", []string{"a"}, f.in.endpoint(c))
	f.control.patience = controlPatience
	return f
}

// checkControl checks the direct client: every event, one stream.
func (f *faultFixture) checkControl(t testing.TB) tally {
	t.Helper()
	tl := f.control.check(f.l, 0)
	if n := f.control.opened(); n != 1 {
		t.Errorf("control: %d streams; want 1: a fault on another path cut the direct client (%q)", n, f.control.ends)
	}
	return tl
}

// TestLatencyJitter delays every chunk both ways by 40 ms ± 30 ms while
// events come in bursts and pauses. What must hold: latency alone costs no
// reconnection (one stream per client: the heartbeat watchdog, three
// intervals of 500 ms, is above the delay), and every client gets every
// event of its topics once, in order, as TCP and the proxy keep the bytes
// in order whatever the jitter.
func TestLatencyJitter(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		f := newFaultFixture(t, p, server.WithHeartbeat(500*time.Millisecond))
		f.x.add(t, "latency-down", "latency", "downstream", map[string]any{"latency": 40, "jitter": 30})
		f.x.add(t, "latency-up", "latency", "upstream", map[string]any{"latency": 40, "jitter": 30})
		c, _ := newClient(t, p, clientConfig{})
		subs := []*sub{
			newSub(t, "slow-a", []string{"a"}, f.x.endpoint(p, c)),
			newSub(t, "slow-b", []string{"b"}, f.x.endpoint(p, c)),
			newSub(t, "slow-ab", []string{"a", "b"}, f.x.endpoint(p, c)),
		}
		done := make(chan struct{})
		wait := following(f.l, done, append(subs, f.control)...)
		waitFor(t, "every stream open", func() bool { return f.in.srv.Stats().Open == 4 })
		for burst := range 10 {
			for i := range 1 + burst*7%23 {
				f.l.publish([]string{"a", "b"}[i%2], burst*50)
			}
			// A pause between bursts: what is under test is the timing of
			// events against the delays.
			time.Sleep(time.Duration(burst%4) * 30 * time.Millisecond)
		}
		close(done)
		wait()
		sum := totals(checkAll(t, f.l, subs...), f.checkControl(t))
		for _, s := range subs {
			if s.opened() != 1 {
				t.Errorf("%s: %d streams; want 1 (latency alone must not cost a reconnection): %q", s.name, s.opened(), s.ends)
			}
		}
		t.Logf("latency: %+v", sum)
	})
}

// TestBandwidth limits the path to 64 KB/s while 160 KB of events are
// published at once. What must hold: the throttled client is slow but
// live, so it is not evicted (each of the server's writes completes within
// the write timeout, and the backlog fits its queue) and gets every event
// once, in order, on one stream; the direct client has all of them while
// the throttled one is still far behind.
func TestBandwidth(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		f := newFaultFixture(t, p)
		f.x.add(t, "bandwidth", "bandwidth", "downstream", map[string]any{"rate": 64})
		c, _ := newClient(t, p, clientConfig{})
		slow := newSub(t, "throttled", []string{"a"}, f.x.endpoint(p, c))
		done := make(chan struct{})
		wait := following(f.l, done, slow, f.control)
		waitFor(t, "both streams open", func() bool { return f.in.srv.Stats().Open == 2 })
		const events = 160
		for range events {
			f.l.publish("a", 1000)
		}
		last := f.l.last([]string{"a"})
		waitFor(t, "the direct client to have every event", func() bool { return f.control.lastSeq.Load() >= last })
		if got := slow.received(); got > events/2 {
			t.Errorf("the throttled client had %d of %d events when the direct one had all; want it behind (is the bandwidth toxic on?)", got, events)
		}
		close(done)
		wait()
		sum := totals(slow.check(f.l, 0), f.checkControl(t))
		if n := slow.opened(); n != 1 {
			t.Errorf("throttled: %d streams; want 1 (a slow but live client must not be evicted): %q", n, slow.ends)
		}
		if st := f.in.srv.Stats(); st.Evicted != 0 {
			t.Errorf("Stats() = %+v; want no eviction", st)
		}
		t.Logf("bandwidth: %+v", sum)
	})
}

// TestSlowClose delays a connection's close by a second on its way through
// the proxy, both ways.
//
// ClientLeaves: the client drops its connection and reconnects at once;
// the server learns of the old connection's end a second late. What must
// hold: the new stream gets exactly what the client missed, while the old
// one is still open on the server and written to; the old stream then
// ends, about the delay after the client left.
//
// ServerDies: the instance behind the proxy is killed (its http.Server
// closed, not shut down); the close reaches the client a second late. What
// must hold: the client notices when the close arrives (or when its
// watchdog fires, whichever is first) and resumes on another instance of
// the same broker with exactly what it missed.
func TestSlowClose(t *testing.T) {
	t.Parallel()
	const delay = time.Second
	forEachProto(t, func(t *testing.T, p proto) {
		concurrently(t, subtest{"ClientLeaves", func(t *testing.T) {
			f := newFaultFixture(t, p)
			f.x.add(t, "slow-close", "slow_close", "upstream", map[string]any{"delay": delay.Milliseconds()})
			c, d := newClient(t, p, clientConfig{})
			leaver := newSub(t, "leaver", []string{"a", "leaver"}, f.x.endpoint(p, c))
			done := make(chan struct{})
			wait := following(f.l, done, f.control)
			st, err := leaver.open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for range 20 {
				f.l.publish("a", 0)
			}
			for leaver.lastSeq.Load() < f.l.last([]string{"a"}) {
				if _, err := leaver.read(st); err != nil {
					t.Fatal(err)
				}
			}
			// The client goes: its one connection closes.
			left := time.Now()
			for _, pc := range d.opened() {
				pc.Close()
			}
			st.close()
			old := f.in.reqs.find("leaver")[0]
			// It comes back at once, on a new connection, and events go on.
			resumed := make(chan struct{})
			go func() {
				defer close(resumed)
				leaver.follow(func() bool {
					select {
					case <-done:
						return leaver.caughtUp(f.l)()
					default:
						return false
					}
				}, nil)
			}()
			waitFor(t, "the resumed stream", func() bool { return len(f.in.reqs.find("leaver")) == 2 })
			bothOpen := old.open()
			for range 20 {
				f.l.publish("a", 0)
			}
			select {
			case <-old.ended:
			case <-time.After(timeout):
				t.Fatal("the old stream did not end on the server")
			}
			lingered := old.endedAt.Sub(left)
			close(done)
			wait()
			<-resumed
			sum := totals(leaver.check(f.l, 0), f.checkControl(t))
			if !bothOpen {
				t.Errorf("the old stream had ended when the new one opened; want it open for the close's delay (is the toxic on?)")
			}
			if lingered < delay/2 {
				t.Errorf("the old stream ended %v after the client left; want about %v, the close's delay", lingered, delay)
			}
			t.Logf("slow close, client leaves: the server's old stream lingered %v after the client left (delay %v); %+v", lingered, delay, sum)
		}}, subtest{"ServerDies", func(t *testing.T) {
			f := newFaultFixture(t, p, server.WithHeartbeat(time.Hour))
			other := serve(t, p, f.b, serveConfig{})
			f.x.add(t, "slow-close", "slow_close", "downstream", map[string]any{"delay": delay.Milliseconds()})
			c, _ := newClient(t, p, clientConfig{})
			s := newSub(t, "orphan", []string{"a"}, f.x.endpoint(p, c), other.endpoint(c))
			done := make(chan struct{})
			wait := following(f.l, done, s)
			waitFor(t, "the stream through the proxy", func() bool { return f.in.srv.Stats().Open == 1 })
			for range 20 {
				f.l.publish("a", 0)
			}
			waitFor(t, "the first events", func() bool { return s.lastSeq.Load() >= f.l.last([]string{"a"}) })
			killed := time.Now()
			f.in.kill()
			for range 20 {
				f.l.publish("a", 0)
			}
			waitFor(t, "the client on the other instance", func() bool { return other.srv.Stats().Open == 1 })
			noticed := time.Since(killed)
			close(done)
			wait()
			sum := s.check(f.l, 0)
			if noticed < delay/2 {
				t.Errorf("the client moved %v after the kill; want about %v, the close's delay (is the toxic on?)", noticed, delay)
			}
			t.Logf("slow close, server dies: the client resumed elsewhere %v after the kill (delay %v); %+v", noticed, delay, sum)
		}})
	})
}

// TestBlackhole makes the path stop forwarding, both ways, without closing
// anything, while events keep coming: a peer whose network vanished.
//
// What must hold: the client notices the silence within a few of the
// heartbeat intervals its hello announced (3 here), gives the stream up
// and reconnects with its Last-Event-ID; once the path forwards again it
// gets exactly what it missed; the direct client gets every event
// meanwhile, on one stream.
//
// What becomes of the server's half of a dead stream is measured, not
// assumed, and logged. The proxy keeps reading from the server and drops
// the bytes, so the server's writes (heartbeats, events) succeed: its
// write timeout never fires. A client that gives up closes its connection
// (over HTTP/2 its transport does, when a ping goes unanswered), and the
// proxy passes the close on, which ends the server's stream. A client that
// vanished without closing (the "ghost") leaves a stream that nothing in
// ssekit ends: it stays open, written to, for as long as the path accepts
// bytes (here until the proxy drops the connection when the path heals).
// Over HTTP/2, http.Server's HTTP2.SendPingTimeout, which ConfigureHTTP
// leaves unset, bounds it: the subtest Pings shows the server dropping
// the ghost's connection (TestBlackholeDeadPeerEnds asks it of
// ConfigureHTTP).
func TestBlackhole(t *testing.T) {
	t.Parallel()
	const (
		heartbeat    = 200 * time.Millisecond
		writeTimeout = 500 * time.Millisecond
	)
	run := func(t *testing.T, p proto, pings bool) {
		f := newFaultFixture(t, p, server.WithHeartbeat(heartbeat), server.WithWriteTimeout(writeTimeout))
		if pings {
			f.in.hs.HTTP2.SendPingTimeout = 4 * heartbeat
			f.in.hs.HTTP2.PingTimeout = 4 * heartbeat
		}
		vc, vd := newClient(t, p, clientConfig{pingTimeout: 2 * heartbeat})
		victim := newSub(t, "victim", []string{"a", "victim"}, f.x.endpoint(p, vc))
		victim.first = silentHeartbeats * heartbeat // waiting for a hello that is blackholed
		gc, _ := newClient(t, p, clientConfig{})
		ghost, err := openStream(context.Background(), f.x.endpoint(p, gc), []string{"a", "ghost"}, "", time.Hour, 1<<20) // a ghost never gives up
		if err != nil {
			t.Fatal(err)
		}
		defer ghost.close()

		done := make(chan struct{})
		wait := following(f.l, done, victim, f.control)
		waitFor(t, "three open streams", func() bool { return f.in.srv.Stats().Open == 3 })
		var pubs sync.WaitGroup
		stopPub := make(chan struct{})
		pubs.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond) // a steady flow of events, blackholed or not
			defer tick.Stop()
			for {
				select {
				case <-stopPub:
					return
				case <-tick.C:
					f.l.publish("a", 0)
				}
			}
		})
		waitFor(t, "the victim's first events", func() bool { return victim.received() >= 10 })

		f.x.add(t, "blackhole-down", "timeout", "downstream", map[string]any{"timeout": 0})
		f.x.add(t, "blackhole-up", "timeout", "upstream", map[string]any{"timeout": 0})
		holed := time.Now()
		atHole := f.control.lastSeq.Load()
		waitFor(t, "the victim to notice the silence", func() bool {
			victim.mu.Lock()
			defer victim.mu.Unlock()
			return victim.silent > 0
		})
		noticed := time.Since(holed)
		victimStream := f.in.reqs.find("victim")[0]
		ghostStream := f.in.reqs.find("ghost")[0]
		select {
		case <-victimStream.ended:
		case <-time.After(timeout):
			t.Fatalf("the victim's old stream is still open on the server %v after it gave up", timeout)
		}
		victimLinger := victimStream.endedAt.Sub(holed)

		// The ghost's stream: what, if anything, ends it while the path
		// accepts bytes. A wait of many write timeouts and heartbeats is
		// what is measured.
		bytes0 := f.in.srv.Stats().Bytes
		watch := 6 * writeTimeout
		ghostEnded := poll(watch, func() bool { return !ghostStream.open() })
		ghostLinger := time.Since(holed)
		written := f.in.srv.Stats().Bytes - bytes0
		if f.control.lastSeq.Load() <= atHole {
			t.Errorf("the direct client got nothing while the proxy's path was blackholed")
		}

		// The path heals. toxiproxy drops the connections it blackholed.
		f.x.remove(t, "blackhole-down")
		f.x.remove(t, "blackhole-up")
		close(stopPub)
		pubs.Wait()
		close(done)
		wait()
		for _, c := range vd.opened() {
			c.Close()
		}
		sum := totals(victim.check(f.l, 0), f.checkControl(t))
		if victim.silent == 0 || victim.opened() < 2 {
			t.Errorf("victim: %d streams, %d given up for silence; want it to have given one up and resumed", victim.opened(), victim.silent)
		}
		t.Logf("blackhole: the victim noticed the silence after %v (heartbeat %v); its old stream ended on the server %v after the blackhole began, once its close passed the proxy", noticed, heartbeat, victimLinger)
		if ghostEnded {
			t.Logf("blackhole: the ghost's stream ended on the server %v after the blackhole began", ghostLinger)
		} else {
			t.Logf("blackhole: the ghost's stream was still open on the server %v after the blackhole began (%d write timeouts, %d heartbeats): the server wrote %d bytes into the blackhole meanwhile; nothing ends it while the path accepts bytes", ghostLinger, int(ghostLinger/writeTimeout), int(ghostLinger/heartbeat), written)
		}
		if pings && !ghostEnded {
			t.Errorf("with HTTP2.SendPingTimeout %v, the ghost's connection is still open after %v; want it closed for its unanswered ping", f.in.hs.HTTP2.SendPingTimeout, ghostLinger)
		}
		t.Logf("blackhole: %+v", sum)
	}
	concurrently(t,
		subtest{http1.name, func(t *testing.T) { run(t, http1, false) }},
		subtest{http2.name, func(t *testing.T) { run(t, http2, false) }},
		subtest{"Pings", func(t *testing.T) { run(t, http2, true) }},
	)
}

// TestBlackholeDeadPeerEnds blackholes, both ways, the path of an HTTP/2
// client that vanishes without closing anything, in front of an
// http.Server prepared by ConfigureHTTP. What must hold: the server ends
// the dead stream within a bound (here 5 s, 25 heartbeats), so that dead
// peers do not pile up while the path accepts bytes. Over HTTP/2 only the
// connection's pings can tell (TestBlackhole/Pings shows
// HTTP2.SendPingTimeout doing it); over HTTP/1.1 nothing but the client's
// own close can, which is why this asks it of HTTP/2 alone.
func TestBlackholeDeadPeerEnds(t *testing.T) {
	t.Parallel()
	const heartbeat = 200 * time.Millisecond
	f := newFaultFixture(t, http2, server.WithHeartbeat(heartbeat))
	gc, _ := newClient(t, http2, clientConfig{})
	ghost, err := openStream(context.Background(), f.x.endpoint(http2, gc), []string{"a", "ghost"}, "", time.Hour, 1<<20) // a ghost never gives up
	if err != nil {
		t.Fatal(err)
	}
	defer ghost.close()
	f.x.add(t, "blackhole-down", "timeout", "downstream", map[string]any{"timeout": 0})
	f.x.add(t, "blackhole-up", "timeout", "upstream", map[string]any{"timeout": 0})
	holed := time.Now()
	req := f.in.reqs.find("ghost")[0]
	if !poll(5*time.Second, func() bool { return !req.open() }) {
		t.Fatalf("the vanished peer's stream is still open on the server %v after its path went dark (heartbeat %v, write timeout %v)", time.Since(holed), heartbeat, server.DefaultWriteTimeout)
	}
}
