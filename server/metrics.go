package server

import "github.com/prometheus/client_golang/prometheus"

// Collector returns a Prometheus collector of the server's [Stats], for the
// application to register:
//
//	prometheus.MustRegister(srv.Collector())
//	r.Handle("/metrics", promhttp.Handler())
//
// Metric names start with "ssekit_". When the broker counts its publishes
// (as [MemoryBroker] does), ssekit_published_total is included.
func (s *Server) Collector() prometheus.Collector { return &collector{s: s} }

type collector struct{ s *Server }

var (
	descOpen        = prometheus.NewDesc("ssekit_connections_open", "Event streams open now.", nil, nil)
	descConnections = prometheus.NewDesc("ssekit_connections_total", "Event streams opened.", nil, nil)
	descDelivered   = prometheus.NewDesc("ssekit_delivered_total", "Events written to clients, replayed ones included.", nil, nil)
	descBytes       = prometheus.NewDesc("ssekit_written_bytes_total", "Bytes written to event streams.", nil, nil)
	descReplayed    = prometheus.NewDesc("ssekit_replayed_total", "Events replayed to reconnecting clients.", nil, nil)
	descResets      = prometheus.NewDesc("ssekit_resets_total", "Reset events sent to clients that could not resume.", nil, nil)
	descEvicted     = prometheus.NewDesc("ssekit_evicted_total", "Streams closed because the client read too slowly.", nil, nil)
	descRejected    = prometheus.NewDesc("ssekit_rejected_total", "Requests refused with an error status.", nil, nil)
	descPublished   = prometheus.NewDesc("ssekit_published_total", "Events published to the broker.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descConnections, descDelivered, descBytes, descReplayed, descResets, descEvicted, descRejected} {
		ch <- d
	}
	if _, ok := c.s.broker.(interface{ Published() uint64 }); ok {
		ch <- descPublished
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(st.Open))
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(descConnections, st.Connections)
	counter(descDelivered, st.Delivered)
	counter(descBytes, st.Bytes)
	counter(descReplayed, st.Replayed)
	counter(descResets, st.Resets)
	counter(descEvicted, st.Evicted)
	counter(descRejected, st.Rejected)
	if p, ok := c.s.broker.(interface{ Published() uint64 }); ok {
		counter(descPublished, p.Published())
	}
}
