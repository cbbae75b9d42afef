// Package brokertest checks that a server.Broker keeps the contract the
// server's handler relies on, in the spirit of testing/slogtest: an
// implementation's own test calls [Run] with a constructor.
//
//	func TestContract(t *testing.T) {
//		brokertest.Run(t, func(t *testing.T, c brokertest.Config) server.Broker {
//			return server.NewMemoryBroker(server.WithRetention(c.RetainEvents, 0))
//		})
//	}
package brokertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// Config is what a broker under test must be configured with.
type Config struct {
	// RetainEvents is how many events the broker must retain per topic,
	// and no more: older ones must be trimmed (so that resuming before
	// them is a reset).
	RetainEvents int
}

// Timeout bounds every wait of the suite.
var Timeout = 10 * time.Second

// Run runs the contract's checks as subtests. newBroker returns a fresh,
// empty broker for each; Run closes it.
func Run(t *testing.T, newBroker func(t *testing.T, c Config) server.Broker) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b server.Broker)
	}{
		{"IDs", testIDs},
		{"Live", testLive},
		{"TopicIsolation", testTopicIsolation},
		{"MultiTopicOrder", testMultiTopicOrder},
		{"Replay", testReplay},
		{"ReplayAcrossTopics", testReplayAcrossTopics},
		{"ReplayThenLiveNoGap", testReplayThenLive},
		{"ResetMalformed", resetTest("not-an-id", schema.ResetMalformed)},
		{"ResetOtherEpoch", resetTest("zzzzzz0-1", schema.ResetEpoch)},
		{"ResetAhead", testResetAhead},
		{"ResetGiven", testResetGiven},
		{"ResetExpired", testResetExpired},
		{"SlowConsumer", testSlowConsumer},
		{"ConcurrentPublish", testConcurrentPublish},
		{"SubscriptionClose", testSubscriptionClose},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{RetainEvents: 5})
			t.Cleanup(func() { b.Close() })
			tt.fn(t, b)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return c
}

// frame returns a frame as server.Publish would build it.
func frame(t testing.TB, data string) []byte {
	t.Helper()
	f, err := sse.AppendEvent(nil, sse.Event{Type: "test", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func publish(t testing.TB, b server.Broker, topic, data string) string {
	t.Helper()
	id, err := b.Publish(context.Background(), topic, frame(t, data))
	if err != nil {
		t.Fatalf("Publish(%q, %q) = %v", topic, data, err)
	}
	return id
}

func subscribe(t *testing.T, b server.Broker, lastID string, topics ...string) server.Subscription {
	t.Helper()
	s, err := b.Subscribe(ctx(t), server.SubscribeRequest{Topics: topics, LastEventID: lastID})
	if err != nil {
		t.Fatalf("Subscribe(%q, %q) = %v", topics, lastID, err)
	}
	t.Cleanup(s.Close)
	return s
}

// event is a decoded frame.
type event struct{ ID, Type, Data string }

func decode(t testing.TB, f []byte) event {
	t.Helper()
	d := sse.NewDecoder(bytes.NewReader(f))
	ev, err := d.Next()
	if err != nil {
		t.Fatalf("frame %q does not decode: %v", f, err)
	}
	if _, err := d.Next(); err == nil {
		t.Fatalf("frame %q holds more than one event", f)
	}
	return event{ID: ev.ID, Type: ev.Type, Data: ev.Data}
}

// receive waits for n events, failing after Timeout.
func receive(t *testing.T, s server.Subscription, n int) []event {
	t.Helper()
	var got []event
	var frames [][]byte
	deadline := time.After(Timeout)
	for len(got) < n {
		var err error
		frames, err = s.Fetch(frames[:0])
		for _, f := range frames {
			got = append(got, decode(t, f))
		}
		if err != nil {
			t.Fatalf("after %d of %d events: subscription ended: %v", len(got), n, err)
		}
		if len(got) >= n {
			break
		}
		select {
		case <-s.Ready():
		case <-deadline:
			t.Fatalf("timed out with %d of %d events: %v", len(got), n, got)
		}
	}
	if len(got) > n {
		t.Fatalf("got %d events, want %d: %v", len(got), n, got)
	}
	return got
}

// quiet checks that nothing is waiting on s.
func quiet(t *testing.T, s server.Subscription) {
	t.Helper()
	frames, err := s.Fetch(nil)
	if len(frames) > 0 || err != nil {
		t.Fatalf("Fetch = %d frames, %v; want none", len(frames), err)
	}
}

func wantData(t *testing.T, got []event, want ...string) {
	t.Helper()
	var data []string
	for _, e := range got {
		data = append(data, e.Data)
	}
	if strings.Join(data, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %q; want %q", data, want)
	}
}

func parse(t testing.TB, id string) server.EventID {
	t.Helper()
	e, err := server.ParseEventID(id)
	if err != nil {
		t.Fatalf("ParseEventID(%q) = %v", id, err)
	}
	return e
}

func testIDs(t *testing.T, b server.Broker) {
	a := parse(t, publish(t, b, "a", "1"))
	c := parse(t, publish(t, b, "b", "2"))
	d := parse(t, publish(t, b, "a", "3"))
	if a.Epoch != c.Epoch || c.Epoch != d.Epoch {
		t.Fatalf("epochs %q %q %q differ within one broker", a.Epoch, c.Epoch, d.Epoch)
	}
	if !(a.Seq < c.Seq && c.Seq < d.Seq) {
		t.Fatalf("sequences %d %d %d do not grow across topics", a.Seq, c.Seq, d.Seq)
	}
}

func testLive(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "", "a")
	if s.Reset() != "" || s.Replayed() != 0 {
		t.Fatalf("fresh subscription: Reset() = %q, Replayed() = %d", s.Reset(), s.Replayed())
	}
	id := publish(t, b, "a", "x")
	got := receive(t, s, 1)
	if got[0] != (event{ID: id, Type: "test", Data: "x"}) {
		t.Fatalf("received %+v; want id %q, type test, data x", got[0], id)
	}
	quiet(t, s)
}

func testTopicIsolation(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "", "a")
	publish(t, b, "b", "other")
	publish(t, b, "a.b", "prefix")
	publish(t, b, "a", "mine")
	wantData(t, receive(t, s, 1), "mine")
}

func testMultiTopicOrder(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "", "a", "b")
	var want []string
	for i := range 20 {
		topic := []string{"a", "b", "c"}[i%3]
		publish(t, b, topic, strconv.Itoa(i))
		if topic != "c" {
			want = append(want, strconv.Itoa(i))
		}
	}
	got := receive(t, s, len(want))
	wantData(t, got, want...)
	checkOrder(t, got)
}

func checkOrder(t *testing.T, got []event) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if parse(t, got[i-1].ID).Seq >= parse(t, got[i].ID).Seq {
			t.Fatalf("events out of ID order: %q then %q", got[i-1].ID, got[i].ID)
		}
	}
}

func testReplay(t *testing.T, b server.Broker) {
	var ids []string
	for i := range 5 {
		ids = append(ids, publish(t, b, "a", strconv.Itoa(i)))
	}
	s := subscribe(t, b, ids[1], "a")
	wantData(t, receive(t, s, 3), "2", "3", "4")
	if s.Replayed() != 3 || s.Reset() != "" {
		t.Fatalf("Replayed() = %d, Reset() = %q; want 3, none", s.Replayed(), s.Reset())
	}
	last := subscribe(t, b, ids[4], "a")
	quiet(t, last) // resuming from the newest event replays nothing
}

func testReplayAcrossTopics(t *testing.T, b server.Broker) {
	first := publish(t, b, "a", "a0")
	for _, e := range []struct{ topic, data string }{{"b", "b1"}, {"c", "c2"}, {"a", "a3"}, {"b", "b4"}} {
		publish(t, b, e.topic, e.data)
	}
	s := subscribe(t, b, first, "a", "b")
	got := receive(t, s, 3)
	wantData(t, got, "b1", "a3", "b4")
	checkOrder(t, got)
}

// testReplayThenLive publishes while subscribers resume, and checks that
// each sees every event after its ID exactly once.
func testReplayThenLive(t *testing.T, b server.Broker) {
	const total = 200
	first := publish(t, b, "a", "0")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i < total; i++ {
			if _, err := b.Publish(context.Background(), "a", frame(t, strconv.Itoa(i))); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	}()
	s, err := b.Subscribe(ctx(t), server.SubscribeRequest{Topics: []string{"a"}, LastEventID: first})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wg.Wait()
	var got []event
	var frames [][]byte
	deadline := time.After(Timeout)
	for len(got) == 0 || got[len(got)-1].Data != strconv.Itoa(total-1) {
		frames, err = s.Fetch(frames[:0])
		for _, f := range frames {
			got = append(got, decode(t, f))
		}
		if err != nil {
			t.Fatalf("subscription ended: %v", err)
		}
		if len(got) > 0 && got[len(got)-1].Data == strconv.Itoa(total-1) {
			break
		}
		select {
		case <-s.Ready():
		case <-deadline:
			t.Fatalf("timed out after %d events", len(got))
		}
	}
	next := 1
	if s.Reset() != "" {
		// Retention is 5: the publisher may have run more than that ahead
		// of Subscribe. Then the reset comes first, and live delivery
		// starts right after the reset's ID.
		if got[0].Type != schema.ResetEvent {
			t.Fatalf("Reset() = %q but the first frame is %+v", s.Reset(), got[0])
		}
		reset := parse(t, got[0].ID)
		got = got[1:]
		if len(got) > 0 && parse(t, got[0].ID).Seq != reset.Seq+1 {
			t.Fatalf("after a reset at %s the first live event is %s; want the next ID", got[0].ID, reset)
		}
		if len(got) > 0 {
			next, _ = strconv.Atoi(got[0].Data)
		}
	}
	for i, e := range got {
		if e.Data != strconv.Itoa(next+i) {
			t.Fatalf("event %d is %q; want %d (gap or duplicate between replay and live)", i, e.Data, next+i)
		}
	}
}

func resetTest(lastID, reason string) func(*testing.T, server.Broker) {
	return func(t *testing.T, b server.Broker) {
		publish(t, b, "a", "before")
		checkReset(t, subscribe(t, b, lastID, "a"), b, reason)
	}
}

// checkReset checks that s starts with a reset event for reason, whose ID
// resumes without another reset, and then goes live.
func checkReset(t *testing.T, s server.Subscription, b server.Broker, reason string) {
	t.Helper()
	if s.Reset() != reason {
		t.Fatalf("Reset() = %q; want %q", s.Reset(), reason)
	}
	got := receive(t, s, 1)
	if got[0].Type != schema.ResetEvent || !strings.Contains(got[0].Data, `"`+reason+`"`) {
		t.Fatalf("first frame = %+v; want a %s event with reason %q", got[0], schema.ResetEvent, reason)
	}
	parse(t, got[0].ID)
	again := subscribe(t, b, got[0].ID, "a")
	if again.Reset() != "" {
		t.Fatalf("resuming from the reset's ID %q: Reset() = %q; want none", got[0].ID, again.Reset())
	}
	publish(t, b, "a", "after")
	wantData(t, receive(t, s, 1), "after")
	wantData(t, receive(t, again, 1), "after")
}

func testResetAhead(t *testing.T, b server.Broker) {
	id := parse(t, publish(t, b, "a", "x"))
	id.Seq += 1000
	checkReset(t, subscribe(t, b, id.String(), "a"), b, schema.ResetUnknown)
}

func testResetGiven(t *testing.T, b server.Broker) {
	publish(t, b, "a", "x")
	s, err := b.Subscribe(ctx(t), server.SubscribeRequest{Topics: []string{"a"}, ResetReason: schema.ResetTooLong})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkReset(t, s, b, schema.ResetTooLong)
}

func testResetExpired(t *testing.T, b server.Broker) {
	first := publish(t, b, "a", "0")
	for i := 1; i < 20; i++ { // retention is 5 per topic
		publish(t, b, "a", strconv.Itoa(i))
	}
	checkReset(t, subscribe(t, b, first, "a"), b, schema.ResetExpired)

	// Expiry on one topic resets a subscription to several.
	mark := publish(t, b, "quiet", "q")
	for i := range 20 {
		publish(t, b, "a", strconv.Itoa(i))
	}
	s := subscribe(t, b, mark, "quiet", "a")
	if s.Reset() != schema.ResetExpired {
		t.Fatalf("Reset() = %q; want %q when one of the topics expired", s.Reset(), schema.ResetExpired)
	}
}

func testSlowConsumer(t *testing.T, b server.Broker) {
	slow, err := b.Subscribe(ctx(t), server.SubscribeRequest{Topics: []string{"a"}, Limits: server.QueueLimits{Frames: 4}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast := subscribe(t, b, "", "a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			publish(t, b, "a", strconv.Itoa(i))
		}
	}()
	select {
	case <-done:
	case <-time.After(Timeout):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if got := receive(t, fast, 50); len(got) != 50 {
		t.Fatalf("fast subscriber got %d events", len(got))
	}
	deadline := time.After(Timeout)
	for {
		_, err := slow.Fetch(nil)
		if errors.Is(err, server.ErrSlowConsumer) {
			return
		}
		if err != nil {
			t.Fatalf("slow subscriber ended with %v; want ErrSlowConsumer", err)
		}
		select {
		case <-slow.Ready():
		case <-deadline:
			t.Fatal("slow subscriber was never ended with ErrSlowConsumer")
		}
	}
}

func testConcurrentPublish(t *testing.T, b server.Broker) {
	const publishers, each = 4, 100
	s, err := b.Subscribe(ctx(t), server.SubscribeRequest{Topics: []string{"a", "b"}, Limits: server.QueueLimits{Frames: publishers * each}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				topic := []string{"a", "b"}[(p+i)%2]
				if _, err := b.Publish(context.Background(), topic, frame(t, fmt.Sprintf("%d/%d", p, i))); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := receive(t, s, publishers*each)
	checkOrder(t, got)
	seen := make(map[string]bool)
	for _, e := range got {
		if seen[e.Data] {
			t.Fatalf("event %q delivered twice", e.Data)
		}
		seen[e.Data] = true
	}
}

func testSubscriptionClose(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "", "a")
	s.Close()
	s.Close() // idempotent
	publish(t, b, "a", "after close")
	other := subscribe(t, b, "", "a")
	publish(t, b, "a", "x")
	wantData(t, receive(t, other, 1), "x")
}

func testClose(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "", "a")
	publish(t, b, "a", "queued")
	if err := b.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	if _, err := b.Publish(context.Background(), "a", frame(t, "x")); !errors.Is(err, server.ErrBrokerClosed) {
		t.Fatalf("Publish after Close = %v; want ErrBrokerClosed", err)
	}
	if _, err := b.Subscribe(context.Background(), server.SubscribeRequest{Topics: []string{"a"}}); !errors.Is(err, server.ErrBrokerClosed) {
		t.Fatalf("Subscribe after Close = %v; want ErrBrokerClosed", err)
	}
	var got []event
	deadline := time.After(Timeout)
	for {
		frames, err := s.Fetch(nil)
		for _, f := range frames {
			got = append(got, decode(t, f))
		}
		if errors.Is(err, server.ErrBrokerClosed) {
			break
		}
		if err != nil {
			t.Fatalf("subscription ended with %v; want ErrBrokerClosed", err)
		}
		select {
		case <-s.Ready():
		case <-deadline:
			t.Fatal("subscription did not end after Close")
		}
	}
	wantData(t, got, "queued")
}
