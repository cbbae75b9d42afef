package server_test

import (
	"testing"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/brokertest"
)

func TestMemoryBrokerContract(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, c brokertest.Config) server.Broker {
		return server.NewMemoryBroker(server.WithRetention(c.RetainEvents, 0))
	})
}
