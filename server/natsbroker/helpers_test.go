package natsbroker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/brokertest"
	"github.com/ssekit/ssekit/server/natsbroker"
	"github.com/ssekit/ssekit/shared/schema"
)

// timeout bounds every wait of these tests; generous for slow machines
// running with -race.
const timeout = 20 * time.Second

// connect returns a JetStream context on a new connection to s, closed
// when the test ends.
func connect(tb testing.TB, s *natsserver.Server, opts ...nats.Option) jetstream.JetStream {
	tb.Helper()
	// The default, 2 s, is short on a loaded machine.
	opts = append([]nats.Option{nats.Timeout(timeout)}, opts...)
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

// message returns a message of type test with data as it is, as
// server.PublishRaw builds it.
func message(tb testing.TB, b server.Broker, data string) *server.Message {
	tb.Helper()
	m, err := server.NewMessage(b, testEvent, data)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// testEvent's data is the string as it is.
var testEvent = schema.Define[string]("test", schema.WithCodec(textCodec{}))

type textCodec struct{}

func (textCodec) Name() string                       { return "text" }
func (textCodec) Marshal(v any) ([]byte, error)      { return []byte(v.(string)), nil }
func (textCodec) Unmarshal(data []byte, v any) error { *v.(*string) = string(data); return nil }

func publish(tb testing.TB, b server.Broker, topic, data string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	id, err := server.PublishRaw(ctx, b, topic, "test", []byte(data))
	if err != nil {
		tb.Fatalf("Publish(%q, %q) = %v", topic, data, err)
	}
	return id
}

// stream is what a client of the server receives when it resumes from an
// ID: the replay, then live events, or the reason it gets a reset. It reads
// the broker the way the server does (see brokertest.Resume).
type stream struct {
	tb       testing.TB
	b        server.Broker
	topics   []string
	sub      server.Subscription
	reset    string
	replayed int
	pending  []event // read from the replay, not yet received
	last     uint64  // live events at or below it are skipped
}

// subscribe starts a stream of topics resuming after lastID ("" for
// none).
func subscribe(tb testing.TB, b server.Broker, lastID string, topics ...string) *stream {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s := &stream{tb: tb, b: b, topics: topics}
	var err error
	if s.sub, err = b.Subscribe(ctx, server.SubscribeRequest{Topics: topics}); err != nil {
		tb.Fatalf("Subscribe(%q) = %v", topics, err)
	}
	tb.Cleanup(func() { s.sub.Close() })
	s.last = s.sub.Position()
	if lastID == "" {
		return s
	}
	id, err := server.ParseEventID(lastID)
	switch {
	case err != nil:
		s.reset = schema.ResetMalformed
		return s
	case id.Epoch != b.Epoch():
		s.reset = schema.ResetEpoch
		return s
	}
	cur, err := b.Replay(ctx, topics, id.Seq)
	switch {
	case errors.Is(err, server.ErrExpired):
		s.reset = schema.ResetExpired
		return s
	case errors.Is(err, server.ErrUnknownPosition):
		s.reset = schema.ResetUnknown
		return s
	case err != nil:
		tb.Fatalf("Replay(%q, %d) = %v", topics, id.Seq, err)
	}
	defer cur.Close()
	s.last = id.Seq
	for {
		page, err := cur.Next(ctx, nil, 1<<20)
		if err != nil {
			tb.Fatalf("replaying %q after %d: %v", topics, id.Seq, err)
		}
		for _, f := range page {
			s.pending = append(s.pending, decode(tb, f))
			s.last = f.Seq
		}
		s.replayed += len(page)
		if len(page) == 0 || s.last >= s.sub.Position() {
			return s
		}
	}
}

func (s *stream) Reset() string { return s.reset }
func (s *stream) Replayed() int { return s.replayed }
func (s *stream) Close()        { s.sub.Close() }

type event struct {
	Seq            uint64
	ID, Type, Data string
}

func decode(tb testing.TB, f server.Frame) event {
	tb.Helper()
	e, err := brokertest.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return event(e)
}

// receive waits for exactly n events on s.
func receive(tb testing.TB, s *stream, n int) []event {
	tb.Helper()
	got := s.pending[:min(n, len(s.pending))]
	s.pending = s.pending[len(got):]
	var frames []server.Frame
	deadline := time.After(timeout)
	for len(got) < n {
		var err error
		frames, err = s.sub.Fetch(frames[:0])
		for _, f := range frames {
			if f.Seq > s.last {
				got = append(got, decode(tb, f))
				s.last = f.Seq
			}
		}
		if err != nil {
			tb.Fatalf("after %d of %d events: subscription ended: %v", len(got), n, err)
		}
		if len(got) >= n {
			break
		}
		select {
		case <-s.sub.Ready():
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
func ended(tb testing.TB, st *stream) error {
	tb.Helper()
	s := st.sub
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
