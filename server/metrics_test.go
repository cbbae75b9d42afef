package server_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/metrics"
)

// gather collects c through a pedantic registry, which also checks that
// Describe and Collect agree, and returns each metric's value and type.
func gather(t testing.TB, cs ...prometheus.Collector) map[string]string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			t.Fatalf("Register() = %v", err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	got := make(map[string]string)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			got[f.GetName()] = f.GetType().String() + " " + itoa(int(v))
		}
	}
	return got
}

// TestStatsAndCollector runs a scenario that touches every counter and
// reads them back from Stats and from the Prometheus collector.
func TestStatsAndCollector(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil)
	a := connect(t, h.url("a"), nil)
	first := h.publish(t, "a", 1)
	h.publish(t, "a", 2)
	h.publish(t, "a", 3)
	for range 3 {
		a.cents()
	}
	b := connect(t, h.url("a"), http.Header{"Last-Event-Id": {first}}) // replays 2
	b.cents()
	b.cents()
	c := connect(t, h.url("a"), http.Header{"Last-Event-Id": {"bogus"}}) // a reset
	reset(t, c.next())
	c.close()
	refusal(t, do(t, "GET", h.ts.URL+"/", nil))
	refusal(t, do(t, "POST", h.url("a"), nil))

	waitFor(t, "the counters to settle", func() bool {
		st := h.srv.Stats()
		return st.Open == 2 && st.Delivered == 6
	})
	st := h.srv.Stats()
	want := server.Stats{Open: 2, Connections: 3, Delivered: 6, Bytes: st.Bytes, Replayed: 2, Resets: 1, Evicted: 0, Rejected: 2}
	if st != want || st.Bytes == 0 {
		t.Errorf("Got(Stats()) = %+v; want %+v with Bytes > 0", st, want)
	}

	got := gather(t, metrics.NewCollector("test", h.srv), metrics.NewBrokerCollector("test", h.broker))
	for name, want := range map[string]string{
		"ssekit_connections_open":    "GAUGE 2",
		"ssekit_connections_total":   "COUNTER 3",
		"ssekit_delivered_total":     "COUNTER 6",
		"ssekit_written_bytes_total": "COUNTER " + itoa(int(st.Bytes)),
		"ssekit_replayed_total":      "COUNTER 2",
		"ssekit_resets_total":        "COUNTER 1",
		"ssekit_evicted_total":       "COUNTER 0",
		"ssekit_rejected_total":      "COUNTER 2",
		"ssekit_published_total":     "COUNTER 3",
	} {
		if got[name] != want {
			t.Errorf("Got(%s) = %q; want %q", name, got[name], want)
		}
	}
	if len(got) != 9 {
		t.Errorf("Got(%d metrics) = %v; want 9", len(got), got)
	}
}

// TestSeveralServersOneRegistry registers two Servers and their broker in
// one registry, as the demo does with its public and private streams: each
// server's metrics carry its name.
func TestSeveralServersOneRegistry(t *testing.T) {
	t.Parallel()
	b := server.NewMemoryBroker()
	defer b.Close()
	public, private := server.New(b, server.WithLogger(quiet)), server.New(b, server.WithLogger(quiet))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector("public", public), metrics.NewCollector("private", private), metrics.NewBrokerCollector("main", b))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, f := range families {
		series += len(f.GetMetric())
	}
	if series != 2*8+1 {
		t.Errorf("Gather() = %d series in %d families; want 17", series, len(families))
	}
}

// TestBrokerCollectorNeedsACounter refuses a broker that does not count its
// publishes, rather than exporting a metric that says nothing.
func TestBrokerCollectorNeedsACounter(t *testing.T) {
	t.Parallel()
	b := server.NewMemoryBroker()
	defer b.Close()
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("NewBrokerCollector of a broker without Published did not panic")
		}
	}()
	metrics.NewBrokerCollector("x", struct{ server.Broker }{b})
}
