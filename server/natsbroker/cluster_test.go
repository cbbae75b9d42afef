package natsbroker_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/ssekit/ssekit/server/natsbroker"
)

// TestCluster runs the broker on a three-node JetStream cluster in this
// process: a replicated stream, publishing through one node and
// receiving through another.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("a JetStream cluster takes seconds to form")
	}
	t.Parallel()
	const nodes = 3
	ports := freePorts(t, nodes)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p))})
	}
	var servers []*natsserver.Server
	for i, p := range ports {
		servers = append(servers, runServer(t, &natsserver.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Host:       "127.0.0.1",
			Port:       -1,
			Cluster:    natsserver.ClusterOpts{Name: "ssekit", Host: "127.0.0.1", Port: p},
			Routes:     routes,
		}))
	}

	eventually(t, "a JetStream meta leader", func() bool {
		for _, s := range servers {
			if s.JetStreamIsLeader() {
				return true
			}
		}
		return false
	})
	// Creating the replicated stream can still fail while the cluster
	// settles.
	jsA, jsB := connect(t, servers[0]), connect(t, servers[1])
	opts := append(uniqueStream(), natsbroker.WithReplicas(nodes))
	var a *natsbroker.Broker
	eventually(t, "the cluster to accept the stream", func() bool {
		var err error
		a, err = natsbroker.New(jsA, opts...)
		return err == nil
	})
	t.Cleanup(func() { a.Close() })
	b := newBroker(t, jsB, opts...)

	live := subscribe(t, b, "", "prices")
	first := publish(t, a, "prices", "1")
	publish(t, a, "prices", "2")
	wantData(t, receive(t, live, 2), "1", "2")
	wantData(t, receive(t, subscribe(t, b, first, "prices"), 1), "2")
}

// freePorts returns n loopback ports that were free a moment ago: cluster
// routes must be known before the servers start.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	var errs []error
	for _, l := range ls {
		errs = append(errs, l.Close())
	}
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return ports
}
