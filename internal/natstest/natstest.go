// Package natstest runs embedded NATS servers for ssekit's tests: one
// JetStream server, or a JetStream cluster in one process, each stopped
// when its test ends. The natsbroker tests and the fault suite share it.
package natstest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// timeout bounds each wait: a server ready for connections, a cluster's
// meta leader elected.
const timeout = 30 * time.Second

// Run starts an embedded NATS server with opts (signals and logging off)
// until the test ends, or until the caller shuts it down.
func Run(tb testing.TB, opts *natsserver.Options) *natsserver.Server {
	tb.Helper()
	s, err := start(tb, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// start is Run, returning its error rather than failing the test, for
// servers started on goroutines of their own.
func start(tb testing.TB, opts *natsserver.Options) (*natsserver.Server, error) {
	opts.NoSigs, opts.NoLog = true, true
	s, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natstest: NewServer: %w", err)
	}
	go s.Start()
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(timeout) {
		return nil, fmt.Errorf("natstest: the embedded server %s was not ready within %v", opts.ServerName, timeout)
	}
	return s, nil
}

// JetStream starts a JetStream server on a loopback port, storing in a
// directory of the test's, until the test ends.
func JetStream(tb testing.TB) *natsserver.Server {
	tb.Helper()
	return Run(tb, &natsserver.Options{JetStream: true, StoreDir: tb.TempDir(), Host: "127.0.0.1", Port: -1})
}

// Cluster starts a JetStream cluster of n nodes named n1, n2, … on
// loopback ports, and returns once it has elected its meta leader.
func Cluster(tb testing.TB, n int) []*natsserver.Server {
	tb.Helper()
	ports := FreePorts(tb, n)
	var routes []*url.URL
	for _, port := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))})
	}
	servers := make([]*natsserver.Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, port := range ports {
		wg.Go(func() { // each waits for the others' routes: start them at once
			servers[i], errs[i] = start(tb, &natsserver.Options{
				ServerName: fmt.Sprintf("n%d", i+1),
				JetStream:  true,
				StoreDir:   tb.TempDir(),
				Host:       "127.0.0.1",
				Port:       -1,
				Cluster:    natsserver.ClusterOpts{Name: "ssekit", Host: "127.0.0.1", Port: port},
				Routes:     routes,
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		for _, s := range servers {
			if s.JetStreamIsLeader() {
				return servers
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("natstest: no JetStream meta leader within %v", timeout)
		}
	}
}

// FreePorts returns n loopback ports that were free a moment ago, for
// servers whose ports must be known before they start (a cluster's
// routes, a proxy's configuration).
func FreePorts(tb testing.TB, n int) []int {
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
