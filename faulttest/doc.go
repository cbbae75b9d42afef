// Package faulttest is ssekit's fault suite: tests, and no code of its own,
// that probe the guarantees of package server the way production breaks
// them, so that the next defect is found here first.
//
// Every test checks the same promise from the client's side: a client that
// resumes with its last event ID (or, having seen no event, the hello's id)
// ends with every event of its topics once, in order, and no reset, as long
// as what it missed is retained; and one client's trouble leaves the
// server's other streams alone. Events carry their topic and their number
// on it, so a lost, repeated or reordered event shows in the payload as
// well as in the IDs.
//
// The tests run with go test, over HTTP/1.1 and over HTTP/2 with TLS:
//
//   - transports: streaming, replay, idle streams, a stalled stream on a
//     shared HTTP/2 connection, a peer that stops reading its socket,
//     DisconnectAll and Shutdown (transport_test.go);
//   - faults injected by a TCP proxy (toxiproxy, embedded): latency with
//     jitter, a bandwidth limit, a reset in the middle of an event, a slow
//     close and a blackhole (toxic_test.go, cut_test.go);
//   - reverse proxies: httputil.ReverseProxy and a real nginx, which
//     scripts/ensure-nginx.sh installs (proxy_test.go, nginx_test.go);
//   - churn, a seeded property test of the queue and the writer, and
//     several instances on NATS JetStream, killed or losing a cluster node
//     (churn_test.go, property_test.go, nats_test.go).
//
// The soak (soak_test.go) runs only when SOAK is set to a duration, as
// make soak does:
//
//	SOAK=30s go test -run '^TestSoak$' -v ./faulttest/
package faulttest
