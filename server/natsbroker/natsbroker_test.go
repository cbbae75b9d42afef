package natsbroker_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/internal/natstest"
	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/brokertest"
	"github.com/ssekit/ssekit/server/natsbroker"
	"github.com/ssekit/ssekit/shared/schema"
)

var _ server.Broker = (*natsbroker.Broker)(nil)

func TestContract(t *testing.T) {
	js := connect(t, natstest.JetStream(t))
	brokertest.Run(t, func(t *testing.T, c brokertest.Config) server.Broker {
		opts := append(uniqueStream(), natsbroker.WithMaxMsgsPerSubject(c.RetainEvents))
		return newBroker(t, js, opts...)
	})
}

// TestTwoInstances runs two brokers on one stream through two connections,
// as two server instances would.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	srv := natstest.JetStream(t)
	opts := uniqueStream()
	a := newBroker(t, connect(t, srv), opts...)
	b := newBroker(t, connect(t, srv), opts...)
	if a.Epoch() != b.Epoch() {
		t.Fatalf("epochs %q and %q differ on one stream", a.Epoch(), b.Epoch())
	}

	live := subscribe(t, b, "", "room")
	first := publish(t, a, "room", "0")
	got := receive(t, live, 1)
	if got[0].ID != first || got[0].Data != "0" {
		t.Fatalf("B received %+v; want id %q, data 0", got[0], first)
	}

	// A client of A moves to B and resumes with the last ID it got: first
	// while B has not delivered all of A's events yet (it gets them live),
	// then once it has (it gets them from the stream).
	var want []string
	for i := 1; i <= 5; i++ {
		publish(t, a, []string{"room", "other"}[i%2], strconv.Itoa(i))
		if i%2 == 0 {
			want = append(want, strconv.Itoa(i))
		}
	}
	early := subscribe(t, b, first, "room")
	wantData(t, receive(t, live, len(want)), want...)
	wantData(t, receive(t, early, len(want)), want...)
	resumed := subscribe(t, b, first, "room")
	wantData(t, receive(t, resumed, len(want)), want...)
	if resumed.Replayed() != len(want) || resumed.Reset() != "" {
		t.Fatalf("Replayed() = %d, Reset() = %q; want %d, none", resumed.Replayed(), resumed.Reset(), len(want))
	}

	// And back: B's IDs resume on A.
	last := publish(t, b, "room", "6")
	wantData(t, receive(t, resumed, 1), "6")
	back := subscribe(t, a, first, "room", "other")
	wantData(t, receive(t, back, 6), "1", "2", "3", "4", "5", "6")
	if s := subscribe(t, a, last, "room"); s.Replayed() != 0 || s.Reset() != "" {
		t.Fatalf("resuming from the newest ID: Replayed() = %d, Reset() = %q", s.Replayed(), s.Reset())
	}
}

// TestRecreatedStream checks that IDs from a deleted stream get a reset on
// its successor, which has a new epoch.
func TestRecreatedStream(t *testing.T) {
	t.Parallel()
	js := connect(t, natstest.JetStream(t))
	opts := uniqueStream()
	old := newBroker(t, js, opts...)
	id := publish(t, old, "t", "x")
	old.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := js.DeleteStream(ctx, old.Stream()); err != nil {
		t.Fatal(err)
	}

	// The server may still be removing the old stream's files.
	var b *natsbroker.Broker
	eventually(t, "New to recreate the stream", func() bool {
		var err error
		b, err = natsbroker.New(js, opts...)
		return err == nil
	})
	t.Cleanup(func() { b.Close() })
	if b.Epoch() == old.Epoch() {
		t.Fatalf("recreated stream kept epoch %q", b.Epoch())
	}
	s := subscribe(t, b, id, "t")
	if s.Reset() != schema.ResetEpoch {
		t.Fatalf("Reset() = %q; want %q", s.Reset(), schema.ResetEpoch)
	}
	// The reset's position, where the client resumes, is the fresh
	// stream's start.
	if pos := s.sub.Position(); pos != 0 {
		t.Fatalf("Position() on the recreated stream = %d; want 0", pos)
	}
	next := publish(t, b, "t", "y")
	if !strings.HasPrefix(next, b.Epoch()+"-") {
		t.Fatalf("Publish = %q; want the new epoch %q", next, b.Epoch())
	}
	wantData(t, receive(t, s, 1), "y")
}

// TestServerShutdown checks the failure behaviour: open subscriptions end
// with an error when the connection is lost, and publishing fails.
func TestServerShutdown(t *testing.T) {
	t.Parallel()
	srv := natstest.JetStream(t)
	js := connect(t, srv, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	b := newBroker(t, js, uniqueStream()...)
	s := subscribe(t, b, "", "t")
	publish(t, b, "t", "before")
	wantData(t, receive(t, s, 1), "before")

	srv.Shutdown()
	if err := ended(t, s); !errors.Is(err, natsbroker.ErrDisconnected) {
		t.Fatalf("subscription ended with %v; want ErrDisconnected", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if seq, err := b.Publish(ctx, "t", message(t, b, "after")); err == nil {
		t.Fatalf("Publish with the server down = %d, nil; want an error", seq)
	}
	if _, err := b.Subscribe(ctx, server.SubscribeRequest{Topics: []string{"t"}}); err == nil {
		t.Fatal("Subscribe with the server down succeeded; want an error")
	}
	done := make(chan error)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close() = %v", err)
		}
	case <-time.After(timeout):
		t.Fatal("Close blocked with the server down")
	}
}

// TestExpiredByAge checks that an ID whose events aged out gets a reset,
// and one after them does not.
func TestExpiredByAge(t *testing.T) {
	t.Parallel()
	js := connect(t, natstest.JetStream(t))
	b := newBroker(t, js, append(uniqueStream(), natsbroker.WithMaxAge(time.Second))...)
	first := publish(t, b, "t", "old")
	publish(t, b, "t", "old too")
	stream, err := js.Stream(context.Background(), b.Stream())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the events to age out", func() bool {
		info, err := stream.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	mark := publish(t, b, "quiet", "new")
	if s := subscribe(t, b, first, "t"); s.Reset() != schema.ResetExpired {
		t.Fatalf("Reset() = %q; want %q", s.Reset(), schema.ResetExpired)
	}
	if s := subscribe(t, b, mark, "t", "quiet"); s.Reset() != "" {
		t.Fatalf("resuming after the aged-out events: Reset() = %q; want none", s.Reset())
	}
}

func TestPublishKey(t *testing.T) {
	t.Parallel()
	js := connect(t, natstest.JetStream(t))
	b := newBroker(t, js, uniqueStream()...)
	s := subscribe(t, b, "", "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pub := func(topic, key, data string) uint64 {
		t.Helper()
		seq, err := b.PublishKey(ctx, topic, key, message(t, b, data))
		if err != nil {
			t.Fatalf("PublishKey(%q, %q) = %v", topic, key, err)
		}
		return seq
	}
	id1 := pub("a", "order-1", "first")
	if id := pub("a", "order-1", "retry"); id != id1 {
		t.Fatalf("repeated PublishKey = %d; want the first's %d", id, id1)
	}
	if id := pub("b", "order-1", "other topic"); id == id1 {
		t.Fatalf("PublishKey on another topic = %d; want a new one (keys are per topic)", id)
	}
	pub("a", "", "no key")
	pub("a", "", "no key")
	wantData(t, receive(t, s, 4), "first", "other topic", "no key", "no key")
	if _, err := b.PublishKey(ctx, "a", "bad\r\nNats-Msg-Id: x", message(t, b, "x")); err == nil {
		t.Fatal("PublishKey with a line break in the key succeeded")
	}
}

func TestTopicsAreOneToken(t *testing.T) {
	t.Parallel()
	js := connect(t, natstest.JetStream(t))
	b := newBroker(t, js, uniqueStream()...)
	topics := []string{"a", "a.b", "a.*", "a.>", "*", ">", "a b", "a%2Eb", "ü", "a\tb", "A"}
	var subs []*stream
	for _, topic := range topics {
		subs = append(subs, subscribe(t, b, "", topic))
	}
	for _, topic := range topics {
		publish(t, b, topic, topic)
	}
	for i, s := range subs {
		wantData(t, receive(t, s, 1), topics[i])
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opt  natsbroker.Option
	}{
		{"empty stream", natsbroker.WithStream("")},
		{"dotted stream", natsbroker.WithStream("a.b")},
		{"wildcard prefix", natsbroker.WithSubjectPrefix("a.*")},
		{"empty prefix token", natsbroker.WithSubjectPrefix("a..b")},
		{"negative age", natsbroker.WithMaxAge(-time.Second)},
		{"no messages", natsbroker.WithMaxMsgsPerSubject(0)},
		{"replicas", natsbroker.WithReplicas(0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Options are checked before js is used.
			if _, err := natsbroker.New(nil, tt.opt); err == nil || !strings.HasPrefix(err.Error(), "natsbroker: ") {
				t.Fatalf("New = %v; want a natsbroker error", err)
			}
		})
	}

	t.Run("foreign stream", func(t *testing.T) {
		t.Parallel()
		js := connect(t, natstest.JetStream(t))
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FOREIGN", Subjects: []string{"foreign.*"}}); err != nil {
			t.Fatal(err)
		}
		_, err := natsbroker.New(js, natsbroker.WithStream("FOREIGN"), natsbroker.WithSubjectPrefix("foreign"))
		if err == nil || !strings.Contains(err.Error(), natsbroker.MetadataEpoch) {
			t.Fatalf("New on a stream without an epoch = %v; want an error naming %q", err, natsbroker.MetadataEpoch)
		}
	})
}

// TestTrimmedPerSubject runs the broker on a stream created by hand with a
// per-subject limit below the broker's window, so that the check after the
// replay, not the window, finds what JetStream trimmed.
func TestTrimmedPerSubject(t *testing.T) {
	t.Parallel()
	js := connect(t, natstest.JetStream(t))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:              "TRIM",
		Subjects:          []string{"trim.*"},
		MaxMsgsPerSubject: 3,
		Metadata:          map[string]string{natsbroker.MetadataEpoch: "abc123"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := newBroker(t, js, natsbroker.WithStream("TRIM"), natsbroker.WithSubjectPrefix("trim"), natsbroker.WithMaxMsgsPerSubject(100))
	if b.Epoch() != "abc123" {
		t.Fatalf("Epoch() = %q; want the stream's abc123", b.Epoch())
	}
	mark := publish(t, b, "quiet", "q")
	var ids []string
	for i := range 6 {
		ids = append(ids, publish(t, b, "a", strconv.Itoa(i))) // "a" keeps 3, 4, 5
	}
	if s := subscribe(t, b, mark, "quiet", "a"); s.Reset() != schema.ResetExpired {
		t.Fatalf("resuming before trimmed events: Reset() = %q; want %q", s.Reset(), schema.ResetExpired)
	}
	s := subscribe(t, b, ids[3], "quiet", "a")
	if s.Reset() != "" {
		t.Fatalf("resuming after the trimmed events: Reset() = %q; want none", s.Reset())
	}
	wantData(t, receive(t, s, 2), "4", "5")
}

// TestReconnect checks that a broker serves new subscriptions once its
// connection is back, from where its consumer stopped.
func TestReconnect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := &natsserver.Options{JetStream: true, StoreDir: dir, Host: "127.0.0.1", Port: -1}
	srv := natstest.Run(t, opts)
	js := connect(t, srv, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	b := newBroker(t, js, uniqueStream()...)
	before := publish(t, b, "t", "before")

	port := srv.Addr().(*net.TCPAddr).Port
	srv.Shutdown()
	srv.WaitForShutdown()
	natstest.Run(t, &natsserver.Options{JetStream: true, StoreDir: dir, Host: "127.0.0.1", Port: port})
	eventually(t, "the connection to come back", js.Conn().IsConnected)

	live := subscribe(t, b, "", "t")
	resumed := subscribe(t, b, before, "t")
	publish(t, b, "t", "after")
	wantData(t, receive(t, live, 1), "after")
	wantData(t, receive(t, resumed, 1), "after")
}
