package server_test

import (
	"strings"
	"testing"

	"github.com/ssekit/ssekit/server"
)

// TestNewPanics checks that New refuses invalid options at start-up,
// naming the option, rather than failing requests later.
func TestNewPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opt  server.Option
		want string
	}{
		{server.WithTopics(nil), "WithTopics: nil function"},
		{server.WithAllowedTopics(), "WithAllowedTopics: no topics"},
		{server.WithMaxTopics(0), "WithMaxTopics(0)"},
		{server.WithRetry(0), "WithRetry(0s)"},
		{server.WithHeartbeat(-1), "WithHeartbeat(-1ns)"},
		{server.WithWriteTimeout(0), "WithWriteTimeout(0s)"},
		{server.WithQueueLimits(server.QueueLimits{Frames: -1}), "WithQueueLimits"},
		{server.WithMaxConnections(-1, 0), "WithMaxConnections(-1, 0)"},
		{server.WithMaxLastEventIDLength(0), "WithMaxLastEventIDLength(0)"},
		{server.WithRetryAfter(0), "WithRetryAfter(0s)"},
		{server.WithAuthorize(nil), "WithAuthorize: nil function"},
		{server.WithRegistry(nil), "WithRegistry: nil registry"},
		{server.WithLogger(nil), "WithLogger: nil logger"},
		{server.WithOnConnect(nil), "WithOnConnect: nil function"},
		{server.WithMethods(), "WithMethods: no methods"},
	}
	b := server.NewMemoryBroker()
	t.Cleanup(func() { b.Close() })
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.HasPrefix(s, "server: New: ") || !strings.Contains(s, tt.want) {
					t.Errorf("Got(New panic) = %v; want one naming %q", r, tt.want)
				}
			}()
			server.New(b, tt.opt)
		})
	}
	t.Run("NilBroker", func(t *testing.T) {
		t.Parallel()
		defer func() {
			if r := recover(); r != "server: New: nil broker" {
				t.Errorf("Got(New(nil) panic) = %v; want %q", r, "server: New: nil broker")
			}
		}()
		server.New(nil)
	})
}

// TestNewMemoryBrokerPanics checks the same rule for the memory broker: the
// option is only recorded, and the constructor panics naming it.
func TestNewMemoryBrokerPanics(t *testing.T) {
	t.Parallel()
	opt := server.WithRetention(-1, 0) // no panic yet
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.HasPrefix(s, "server: NewMemoryBroker: ") || !strings.Contains(s, "WithRetention(-1, 0s)") {
			t.Errorf("Got(NewMemoryBroker panic) = %v; want one naming WithRetention(-1, 0s)", r)
		}
	}()
	server.NewMemoryBroker(opt)
}
