package faulttest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssekit/ssekit/internal/natstest"
	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/natsbroker"
)

// Several ssekit instances on NATS JetStream, each with a broker of its own
// on one stream, as separate processes would run: an instance dies and
// comes back, a JetStream node goes away. The NATS servers are embedded,
// as the natsbroker tests run them.

var natsStreams atomic.Int64

// natsStream names a stream no other test uses.
func natsStream() []natsbroker.Option {
	name := fmt.Sprintf("FAULT%d", natsStreams.Add(1))
	return []natsbroker.Option{natsbroker.WithStream(name), natsbroker.WithSubjectPrefix(strings.ToLower(name))}
}

// natsNode is one process's view of NATS: a connection, with every URL
// to fail over to, and a broker on it.
type natsNode struct {
	nc     *nats.Conn
	broker *natsbroker.Broker
}

// connectBroker connects to NATS at urls (tried in this order) and opens a
// broker on the stream. Both close at cleanup, or at kill.
func connectBroker(tb testing.TB, urls []string, opts ...natsbroker.Option) *natsNode {
	tb.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), nats.DontRandomize(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		tb.Fatalf("nats.Connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(2*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	var b *natsbroker.Broker
	// A cluster may still be settling (electing the stream's leader).
	waitFor(tb, "a broker on the stream", func() bool {
		b, err = natsbroker.New(js, opts...)
		return err == nil
	})
	tb.Cleanup(func() { b.Close() })
	return &natsNode{nc: nc, broker: b}
}

// publishThrough makes l publish through b, retrying failed publishes with
// the same de-duplication key (a publish that timed out may have been
// stored) until it succeeds: what a publisher must do across a failover.
func publishThrough(l *ledger, b *natsbroker.Broker, retries *atomic.Int64) {
	l.pub = func(ctx context.Context, topic, key string, v Tick) (string, error) {
		m, err := server.NewMessage(b, tick, v)
		if err != nil {
			return "", err
		}
		for {
			actx, cancel := context.WithTimeout(ctx, 2*time.Second)
			seq, err := b.PublishKey(actx, topic, key, m)
			cancel()
			if err == nil {
				return server.EventID{Epoch: b.Epoch(), Seq: seq}.String(), nil
			}
			if ctx.Err() != nil {
				return "", fmt.Errorf("%v (last error %v)", ctx.Err(), err)
			}
			retries.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond): // as a publisher backs off
			}
		}
	}
}

// primary makes s try its first endpoint first at every reconnection, and
// the next only when that fails: a load balancer with a preferred instance.
func primary(s *sub) *sub {
	s.prefer = true
	return s
}

// TestNATSInstanceKilled runs two ssekit instances on one JetStream stream,
// with clients on each. One instance is killed (its http.Server closed,
// not shut down, and its NATS connection dropped) while events keep
// coming, then restarted on the same stream and the same address, and the
// other instance's streams are ended (DisconnectAll) so that its clients
// go back to the one they prefer. What must hold: the clients of the dead
// instance resume on the other, those of the live one are unaffected until
// it ends their streams, all of them resume on the restarted instance with
// its old IDs valid (same epoch: no reset), and every client ends with
// every event of its topics once, in order.
func TestNATSInstanceKilled(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, p proto) {
		ns := natstest.JetStream(t)
		urls := []string{ns.ClientURL()}
		opts := natsStream()
		a := connectBroker(t, urls, opts...)
		bb := connectBroker(t, urls, opts...)
		pub := connectBroker(t, urls, opts...)
		ia := serve(t, p, a.broker, serveConfig{})
		ib := serve(t, p, bb.broker, serveConfig{})
		l := newLedger(t, pub.broker)
		var retries atomic.Int64
		publishThrough(l, pub.broker, &retries)

		c, _ := newClient(t, p, clientConfig{})
		var onA, onB []*sub
		for i := range 3 {
			onA = append(onA, primary(newSub(t, fmt.Sprintf("a-%d", i), [][]string{{"a"}, {"b"}, {"a", "b"}}[i], ia.endpoint(c), ib.endpoint(c))))
			onB = append(onB, primary(newSub(t, fmt.Sprintf("b-%d", i), [][]string{{"a"}, {"b"}, {"a", "b"}}[i], ib.endpoint(c), ia.endpoint(c))))
		}
		all := append(append([]*sub(nil), onA...), onB...)
		done := make(chan struct{})
		wait := following(l, done, all...)
		waitFor(t, "three streams on each instance", func() bool { return ia.srv.Stats().Open == 3 && ib.srv.Stats().Open == 3 })
		publishN := func(n int) {
			for i := range n {
				l.publish([]string{"a", "b"}[i%2], 100)
			}
		}
		publishN(100)

		addr := ia.addr
		ia.kill()
		a.nc.Close()
		a.broker.Close()
		publishN(100)
		waitFor(t, "every client on the live instance", func() bool { return ib.srv.Stats().Open == 6 })
		bStreams := ib.srv.Stats().Connections

		// The instance comes back on the same stream and address.
		a2 := connectBroker(t, urls, opts...)
		if a2.broker.Epoch() != pub.broker.Epoch() {
			t.Fatalf("restarted broker's epoch %q; want the stream's %q", a2.broker.Epoch(), pub.broker.Epoch())
		}
		ia2 := serve(t, p, a2.broker, serveConfig{addr: addr})
		publishN(50)
		ib.srv.DisconnectAll()
		waitFor(t, "the first instance's clients back on it", func() bool { return ia2.srv.Stats().Open == 3 })
		publishN(50)
		close(done)
		wait()
		sum := checkAll(t, l, all...)
		for _, s := range onB {
			if s.opened() != 2 {
				t.Errorf("%s opened %d streams; want 2 (the live instance's clients reconnect only when it ends their streams): %q", s.name, s.opened(), s.ends)
			}
		}
		t.Logf("instance killed: the live instance took %d streams, the restarted one %d; %d publishes retried; %+v", bStreams, ia2.srv.Stats().Connections, retries.Load(), sum)
	})
}

// TestNATSClusterNodeStopped streams through two ssekit instances on a
// stream replicated on a three-node JetStream cluster, and stops the node
// that leads the stream, which is also the node the first instance is
// connected to, while events keep coming (from a publisher on another
// node, which retries with a de-duplication key across the failover). What
// must hold: the first instance's clients move to the second when their
// streams end (the broker ends them when its connection drops), the
// second instance's streams survive the new leader's election, and every
// client ends with every event once, in order, and no reset.
func TestNATSClusterNodeStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("a JetStream cluster takes seconds to form")
	}
	t.Parallel()
	const nodes = 3
	servers := natstest.Cluster(t, nodes)
	urls := func(first int) []string {
		out := []string{servers[first].ClientURL()}
		for i, s := range servers {
			if i != first {
				out = append(out, s.ClientURL())
			}
		}
		return out
	}
	opts := append(natsStream(), natsbroker.WithReplicas(nodes))
	probe := connectBroker(t, urls(0), opts...)
	leader := streamLeader(t, probe, servers)
	others := []int{(leader + 1) % nodes, (leader + 2) % nodes}

	a := connectBroker(t, urls(leader), opts...)
	bb := connectBroker(t, urls(others[0]), opts...)
	pub := connectBroker(t, urls(others[1]), opts...)
	ia := serve(t, http1, a.broker, serveConfig{})
	ib := serve(t, http1, bb.broker, serveConfig{})
	l := newLedger(t, pub.broker)
	var retries atomic.Int64
	publishThrough(l, pub.broker, &retries)

	c, _ := newClient(t, http1, clientConfig{})
	var subs []*sub
	for i := range 6 {
		eps := []endpoint{ia.endpoint(c), ib.endpoint(c)}
		if i%2 == 1 {
			eps[0], eps[1] = eps[1], eps[0]
		}
		subs = append(subs, newSub(t, fmt.Sprintf("client-%d", i), [][]string{{"a"}, {"b"}, {"a", "b"}}[i%3], eps...))
	}
	done := make(chan struct{})
	wait := following(l, done, subs...)
	waitFor(t, "three streams on each instance", func() bool { return ia.srv.Stats().Open == 3 && ib.srv.Stats().Open == 3 })
	publishN := func(n int) {
		for i := range n {
			l.publish([]string{"a", "b"}[i%2], 100)
		}
	}
	publishN(100)

	stopped := time.Now()
	servers[leader].Shutdown()
	publishN(100)
	during := time.Since(stopped)
	publishN(100)
	close(done)
	wait()
	sum := checkAll(t, l, subs...)
	newLeader := streamLeader(t, pub, servers)
	t.Logf("cluster node stopped: leader n%d stopped, n%d leads now; 100 events published %v after the stop, %d publishes retried; instances served %d and %d streams; %+v",
		leader+1, newLeader+1, during.Round(time.Millisecond), retries.Load(), ia.srv.Stats().Connections, ib.srv.Stats().Connections, sum)
}

// streamLeader returns the index of the node that leads the broker's
// stream.
func streamLeader(tb testing.TB, n *natsNode, servers []*natsserver.Server) int {
	tb.Helper()
	js, err := jetstream.New(n.nc)
	if err != nil {
		tb.Fatal(err)
	}
	var leader string
	waitFor(tb, "the stream's leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, n.broker.Stream())
		if err != nil {
			return false
		}
		info, err := st.Info(ctx)
		if err != nil || info.Cluster == nil {
			return false
		}
		leader = info.Cluster.Leader
		return leader != ""
	})
	for i, s := range servers {
		if s.Name() == leader {
			return i
		}
	}
	tb.Fatalf("stream leader %q is none of the nodes", leader)
	return -1
}
