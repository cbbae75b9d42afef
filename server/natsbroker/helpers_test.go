package natsbroker_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/natsbroker"
	"github.com/ssekit/ssekit/shared/sse"
)

// timeout bounds every wait of these tests; generous for slow machines
// running with -race.
const timeout = 20 * time.Second

// startServer runs an embedded JetStream server on a loopback port until
// the test ends.
func startServer(tb testing.TB) *natsserver.Server {
	tb.Helper()
	return runServer(tb, &natsserver.Options{
		JetStream: true,
		StoreDir:  tb.TempDir(),
		Host:      "127.0.0.1",
		Port:      -1,
	})
}

func runServer(tb testing.TB, opts *natsserver.Options) *natsserver.Server {
	tb.Helper()
	opts.NoSigs, opts.NoLog = true, true
	s, err := natsserver.NewServer(opts)
	if err != nil {
		tb.Fatalf("NewServer: %v", err)
	}
	go s.Start()
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(timeout) {
		tb.Fatal("embedded NATS server not ready")
	}
	return s
}

// connect returns a JetStream context on a new connection to s, closed
// when the test ends.
func connect(tb testing.TB, s *natsserver.Server, opts ...nats.Option) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		tb.Fatalf("nats.Connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream.New: %v", err)
	}
	return js
}

var streams atomic.Int64

// uniqueStream returns options naming a stream no other test uses.
func uniqueStream() []natsbroker.Option {
	name := fmt.Sprintf("TEST%d", streams.Add(1))
	return []natsbroker.Option{natsbroker.WithStream(name), natsbroker.WithSubjectPrefix(strings.ToLower(name))}
}

// newBroker returns a broker on js, closed when the test ends.
func newBroker(tb testing.TB, js jetstream.JetStream, opts ...natsbroker.Option) *natsbroker.Broker {
	tb.Helper()
	b, err := natsbroker.New(js, opts...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

func frame(tb testing.TB, data string) []byte {
	tb.Helper()
	f, err := sse.AppendEvent(nil, sse.Event{Type: "test", Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func publish(tb testing.TB, b server.Broker, topic, data string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	id, err := b.Publish(ctx, topic, frame(tb, data))
	if err != nil {
		tb.Fatalf("Publish(%q, %q) = %v", topic, data, err)
	}
	return id
}

func subscribe(tb testing.TB, b server.Broker, lastID string, topics ...string) server.Subscription {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := b.Subscribe(ctx, server.SubscribeRequest{Topics: topics, LastEventID: lastID})
	if err != nil {
		tb.Fatalf("Subscribe(%q, %q) = %v", topics, lastID, err)
	}
	tb.Cleanup(s.Close)
	return s
}

type event struct{ ID, Type, Data string }

func decode(tb testing.TB, f []byte) event {
	tb.Helper()
	ev, err := sse.NewDecoder(bytes.NewReader(f)).Next()
	if err != nil {
		tb.Fatalf("frame %q does not decode: %v", f, err)
	}
	return event{ID: ev.ID, Type: ev.Type, Data: ev.Data}
}

// receive waits for exactly n events on s.
func receive(tb testing.TB, s server.Subscription, n int) []event {
	tb.Helper()
	var got []event
	var frames [][]byte
	deadline := time.After(timeout)
	for len(got) < n {
		var err error
		frames, err = s.Fetch(frames[:0])
		for _, f := range frames {
			got = append(got, decode(tb, f))
		}
		if err != nil {
			tb.Fatalf("after %d of %d events: subscription ended: %v", len(got), n, err)
		}
		if len(got) >= n {
			break
		}
		select {
		case <-s.Ready():
		case <-deadline:
			tb.Fatalf("timed out with %d of %d events: %v", len(got), n, got)
		}
	}
	if len(got) > n {
		tb.Fatalf("got %d events, want %d: %v", len(got), n, got)
	}
	return got
}

// ended waits until s ends and returns why, failing if an event arrives.
func ended(tb testing.TB, s server.Subscription) error {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		frames, err := s.Fetch(nil)
		if len(frames) > 0 {
			tb.Fatalf("got %d unexpected frames", len(frames))
		}
		if err != nil {
			return err
		}
		select {
		case <-s.Ready():
		case <-deadline:
			tb.Fatal("subscription did not end")
		}
	}
}

func wantData(tb testing.TB, got []event, want ...string) {
	tb.Helper()
	var data []string
	for _, e := range got {
		data = append(data, e.Data)
	}
	if strings.Join(data, ",") != strings.Join(want, ",") {
		tb.Fatalf("events = %q; want %q", data, want)
	}
}

// eventually polls cond until it holds, failing after timeout.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}
