// Package metrics exports ssekit's counters to Prometheus. It is a package
// of its own so that package server needs nothing outside the standard
// library.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(
//		metrics.NewCollector("public", events),   // a server.Server
//		metrics.NewCollector("private", private), // several share a registry
//		metrics.NewBrokerCollector("main", broker),
//	)
//	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Metric names start with "ssekit_". A server's metrics carry the label
// server, a broker's the label broker, with the name given.
package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssekit/ssekit/server"
)

// NewCollector returns a collector of s's [server.Stats], labelled
// server=name: give each Server of a registry its own name.
func NewCollector(name string, s *server.Server) prometheus.Collector {
	if s == nil {
		panic("metrics: NewCollector: nil server")
	}
	l := prometheus.Labels{"server": name}
	desc := func(metric, help string) *prometheus.Desc { return prometheus.NewDesc(metric, help, nil, l) }
	return &collector{s: s, descs: [...]*prometheus.Desc{
		desc("ssekit_connections_open", "Event streams open now."),
		desc("ssekit_connections_total", "Event streams opened."),
		desc("ssekit_delivered_total", "Events written to clients, replayed ones included."),
		desc("ssekit_written_bytes_total", "Bytes written to event streams."),
		desc("ssekit_replayed_total", "Events replayed to reconnecting clients."),
		desc("ssekit_resets_total", "Reset events sent to clients that could not resume."),
		desc("ssekit_evicted_total", "Streams closed because the client read too slowly."),
		desc("ssekit_rejected_total", "Requests refused with an error status."),
	}}
}

type collector struct {
	s     *server.Server
	descs [8]*prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(c.descs[0], prometheus.GaugeValue, float64(st.Open))
	for i, v := range [...]uint64{st.Connections, st.Delivered, st.Bytes, st.Replayed, st.Resets, st.Evicted, st.Rejected} {
		ch <- prometheus.MustNewConstMetric(c.descs[i+1], prometheus.CounterValue, float64(v))
	}
}

// NewBrokerCollector returns a collector of the events published through
// b, ssekit_published_total labelled broker=name. b must count them: it
// panics for a broker that is not a [server.PublishCounter] (both of
// ssekit's brokers are).
func NewBrokerCollector(name string, b server.Broker) prometheus.Collector {
	pc, ok := b.(server.PublishCounter)
	if !ok {
		panic(fmt.Sprintf("metrics: NewBrokerCollector: %T does not count its publishes (it is no server.PublishCounter)", b))
	}
	return &brokerCollector{b: pc, desc: prometheus.NewDesc("ssekit_published_total", "Events published through the broker.", nil, prometheus.Labels{"broker": name})}
}

type brokerCollector struct {
	b    server.PublishCounter
	desc *prometheus.Desc
}

func (c *brokerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *brokerCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(c.b.Published()))
}
