package natsbroker_test

import (
	"testing"

	"github.com/ssekit/ssekit/internal/natstest"
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
	servers := natstest.Cluster(t, nodes)
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
