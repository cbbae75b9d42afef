package faulttest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
)

// cutProxy forwards TCP connections to an upstream address and, once
// armed, resets a connection after forwarding a given number of bytes more
// from the server: a reset in the middle of an event, at a byte the test
// chooses. It is ours, not toxiproxy's, because toxiproxy cannot do that:
// its reset_peer toxic resets after a delay and drops the chunk it holds,
// at a boundary of its reads, and its limit_data toxic cuts at a byte count
// with a clean close (FIN), not a reset; only a toxic present when a
// connection opens gets the zero linger that makes its close a reset.
type cutProxy struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	armed int // bytes to forward before the cut; < 0 when not armed
	links []*cutLink
	wg    sync.WaitGroup
}

type cutLink struct {
	client, server *net.TCPConn
}

func newCutProxy(tb testing.TB, upstream string) *cutProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &cutProxy{ln: ln, upstream: upstream, armed: -1}
	p.wg.Go(p.accept)
	tb.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, l := range p.links {
			l.client.Close()
			l.server.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// arm makes the proxy reset, both ways, the connection that next forwards
// n bytes from the server.
func (p *cutProxy) arm(n int) {
	p.mu.Lock()
	p.armed = n
	p.mu.Unlock()
}

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		l := &cutLink{client: c.(*net.TCPConn), server: s.(*net.TCPConn)}
		p.mu.Lock()
		p.links = append(p.links, l)
		p.mu.Unlock()
		p.wg.Go(func() {
			_, _ = io.Copy(l.server, l.client)
			l.server.CloseWrite()
		})
		p.wg.Go(func() { p.down(l) })
	}
}

// down forwards the server's bytes to the client, cutting when armed.
func (p *cutProxy) down(l *cutLink) {
	buf := make([]byte, 32<<10)
	for {
		n, err := l.server.Read(buf)
		if n > 0 {
			p.mu.Lock()
			fwd, cut := n, false
			if p.armed >= 0 && p.armed <= n {
				fwd, cut, p.armed = p.armed, true, -1
			} else if p.armed > 0 {
				p.armed -= n
			}
			p.mu.Unlock()
			if _, werr := l.client.Write(buf[:fwd]); werr != nil {
				return
			}
			if cut {
				// A zero linger makes Close send a reset, discarding
				// whatever is unsent.
				_ = l.client.SetLinger(0)
				_ = l.server.SetLinger(0)
				l.client.Close()
				l.server.Close()
				return
			}
		}
		if err != nil {
			l.client.CloseWrite()
			return
		}
	}
}

// TestResetMidEvent resets the connection, both ways, in the middle of a
// 64 KB event: the client has part of it when the reset comes.
//
// What must hold: the client drops the partial event (the decoder drops a
// block the stream never finished), reconnects with the ID of the last
// complete event and gets the cut event once, in full, then the rest, in
// order; the server's stream on the reset connection ends; the direct
// client is unaffected.
func TestResetMidEvent(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		b := memoryBroker(t)
		in := serve(t, p, b, serveConfig{opts: []server.Option{server.WithHeartbeat(time.Hour)}})
		cp := newCutProxy(t, in.addr)
		l := newLedger(t, b)
		dc, _ := newClient(t, p, clientConfig{})
		control := newSub(t, "control", []string{"a"}, in.endpoint(dc))
		control.patience = controlPatience
		vc, _ := newClient(t, p, clientConfig{})
		victim := newSub(t, "victim", []string{"a", "victim"}, endpoint{url: schemeOf(p) + cp.addr() + "/events", client: vc})

		done := make(chan struct{})
		wait := following(l, done, control)
		st, err := victim.open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st.silence.Store(int64(10 * time.Second)) // no heartbeat comes: bound the reads
		for range 10 {
			l.publish("a", 100)
		}
		for victim.lastSeq.Load() < l.last([]string{"a"}) {
			if _, err := victim.read(st); err != nil {
				t.Fatal(err)
			}
		}
		// The stream is idle (no heartbeat for an hour): the next bytes from
		// the server are the big event's.
		cp.arm(32 << 10)
		cutAt := time.Now()
		big := l.publish("a", 64<<10)
		var cutErr error
		for {
			r, err := victim.read(st)
			if err != nil {
				cutErr = err
				break
			}
			if r.seq == big.seq {
				t.Fatal("the victim got the whole event that was cut")
			}
		}
		partial := st.body.tail.Load()
		st.close()
		if errors.Is(cutErr, errSilent) {
			t.Fatal("the reset never reached the client")
		}
		if partial == 0 {
			t.Fatalf("the victim had no partial event when its connection was reset (%v); want a cut in the middle of one", cutErr)
		}
		old := in.reqs.find("victim")[0]
		select {
		case <-old.ended:
		case <-time.After(timeout):
			t.Fatal("the server's stream on the reset connection did not end")
		}
		for range 10 {
			l.publish("a", 100)
		}
		victim.follow(victim.caughtUp(l), nil)
		close(done)
		wait()
		sum := totals(victim.check(l, 0), control.check(l, 0))
		if control.opened() != 1 {
			t.Errorf("control: %d streams; want 1", control.opened())
		}
		t.Logf("reset mid-event: the client had %d bytes of the 64 KB event when it read %v; the server's stream ended %v after the cut; %+v", partial, cutErr, old.endedAt.Sub(cutAt), sum)
		if got := in.reqs.find("victim"); len(got) != 2 || got[1].lastEventID == "" {
			t.Errorf("the victim resumed with %d requests; want 2, the second with a Last-Event-ID", len(got))
		}
	})
}
