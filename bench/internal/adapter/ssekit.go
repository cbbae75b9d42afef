package adapter

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/ssekit/ssekit/server"
)

// SSEKit drives ssekit: a [server.MemoryBroker] and a [server.Server], with
// the connection caps off (every benchmark client comes from 127.0.0.1,
// past [server.DefaultMaxPerClient], and the many-streams scenario holds
// 19,000 streams, past [server.DefaultMaxConnections]) and logging
// discarded. Everything else keeps its default: queue limits, write
// timeout, heartbeat, and the broker's retention of 10,000 events (it
// always retains).
type SSEKit struct{}

func (SSEKit) Name() string { return "ssekit" }

func (SSEKit) New(o Options) Server {
	var opts []server.MemoryOption
	if o.Retain > 0 {
		opts = append(opts, server.WithRetention(o.Retain, 0))
	}
	b := server.NewMemoryBroker(opts...)
	s := server.New(b,
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		server.WithMaxConnections(0, 0),
	)
	return &ssekitServer{b: b, s: s}
}

type ssekitServer struct {
	b *server.MemoryBroker
	s *server.Server
}

func (k *ssekitServer) Handler() http.Handler { return k.s }
func (k *ssekitServer) Path() string          { return "/events?topic=" + Topic }

// Publish does what server.Publish does once the schema has encoded the
// value: frame it once and hand it to the broker.
func (k *ssekitServer) Publish(data []byte) error {
	_, err := server.PublishRaw(context.Background(), k.b, Topic, EventType, data)
	return err
}

func (k *ssekitServer) Stats() map[string]uint64 {
	st := k.s.Stats()
	return map[string]uint64{"evicted": st.Evicted, "delivered": st.Delivered, "open": uint64(st.Open)}
}

func (k *ssekitServer) Close() {
	_ = k.s.Shutdown(context.Background())
	_ = k.b.Close()
}
