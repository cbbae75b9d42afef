package demo

import (
	"errors"
	"fmt"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/natsbroker"
)

// natsBroker connects to NATS, or starts an embedded JetStream server, and
// returns a broker on it and a function that closes what it started.
func (m *Main) natsBroker() (server.Broker, func(), error) {
	var (
		ns   *natsserver.Server
		nc   *nats.Conn
		err  error
		opts = []nats.Option{nats.Name("ssekit-demo"), nats.MaxReconnects(-1)}
	)
	switch {
	case m.NATSURL != "" && m.NATSDir != "":
		return nil, nil, errors.New("demo: use an external NATS server or an embedded one, not both")
	case m.NATSDir != "":
		ns, err = natsserver.NewServer(&natsserver.Options{
			ServerName: "ssekit-demo",
			JetStream:  true,
			StoreDir:   m.NATSDir,
			DontListen: true, // only this process connects, in-process
			NoSigs:     true,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("demo: embedded NATS: %w", err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(30 * time.Second) {
			ns.Shutdown()
			return nil, nil, errors.New("demo: embedded NATS did not start within 30s")
		}
		nc, err = nats.Connect("", append(opts, nats.InProcessServer(ns))...)
	default:
		nc, err = nats.Connect(m.NATSURL, opts...)
	}
	stop := func() {
		if nc != nil {
			nc.Close()
		}
		if ns != nil {
			ns.Shutdown()
			ns.WaitForShutdown()
		}
	}
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("demo: connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("demo: JetStream: %w", err)
	}
	var bopts []natsbroker.Option
	if m.RetainEvents > 0 {
		bopts = append(bopts, natsbroker.WithMaxMsgsPerSubject(m.RetainEvents))
	}
	if m.RetainAge > 0 {
		bopts = append(bopts, natsbroker.WithMaxAge(m.RetainAge))
	}
	b, err := natsbroker.New(js, bopts...)
	if err != nil {
		stop()
		return nil, nil, err
	}
	m.Logger.Info("demo: events go through NATS JetStream", "stream", b.Stream(), "epoch", b.Epoch(), "embedded", ns != nil)
	return b, stop, nil
}
