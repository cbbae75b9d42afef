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
)

// Config is what a broker under test must be configured with.
type Config struct {
	// RetainEvents is how many events the broker must retain per topic,
	// and no more: older ones must be trimmed (so that replaying from
	// before them fails with server.ErrExpired).
	RetainEvents int
}

// timeout bounds every wait of the suite: an event that a broker on a
// machine's loopback does not deliver in it is lost.
const timeout = 10 * time.Second

// Run runs the contract's checks as subtests. newBroker returns a fresh,
// empty broker for each; Run closes it. Every wait is bounded by 10 s.
func Run(t *testing.T, newBroker func(t *testing.T, c Config) server.Broker) {
	t.Helper()
	tests := []struct {
		name   string
		retain int
		fn     func(t *testing.T, b server.Broker)
	}{
		{"IDs", 5, testIDs},
		{"Live", 5, testLive},
		{"Position", 5, testPosition},
		{"TopicIsolation", 5, testTopicIsolation},
		{"MultiTopicOrder", 5, testMultiTopicOrder},
		{"Replay", 5, testReplay},
		{"ReplayAcrossTopics", 5, testReplayAcrossTopics},
		{"ReplayPages", 5, testReplayPages},
		{"ReplayFollowsNewEvents", 5, testReplayFollows},
		{"ReplayThenLiveNoGap", 5, testReplayThenLive},
		{"LargeReplay", 6000, testLargeReplay},
		{"ReplayAhead", 5, testReplayAhead},
		{"ReplayExpired", 5, testReplayExpired},
		{"ExpiredWhileReading", 5, testExpiredWhileReading},
		{"SlowConsumer", 5, testSlowConsumer},
		{"ConcurrentPublish", 5, testConcurrentPublish},
		{"SubscriptionClose", 5, testSubscriptionClose},
		{"Close", 5, testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{RetainEvents: tt.retain})
			t.Cleanup(func() { b.Close() })
			tt.fn(t, b)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

// testEvent is the event the suite publishes: its data is the string as
// it is.
var testEvent = schema.Define[string]("test", schema.WithCodec(textCodec{}))

type textCodec struct{}

func (textCodec) Name() string                       { return "text" }
func (textCodec) Marshal(v any) ([]byte, error)      { return []byte(v.(string)), nil }
func (textCodec) Unmarshal(data []byte, v any) error { *v.(*string) = string(data); return nil }

// message returns a message as server.Publish builds it.
func message(t testing.TB, b server.Broker, data string) *server.Message {
	t.Helper()
	m, err := server.NewMessage(b, testEvent, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func publish(t testing.TB, b server.Broker, topic, data string) server.EventID {
	t.Helper()
	seq, err := b.Publish(context.Background(), topic, message(t, b, data))
	if err != nil {
		t.Fatalf("Publish(%q, %q) = %v", topic, data, err)
	}
	return server.EventID{Epoch: b.Epoch(), Seq: seq}
}

func subscribe(t *testing.T, b server.Broker, topics ...string) server.Subscription {
	t.Helper()
	return subscribeLimits(t, b, server.QueueLimits{}, topics...)
}

func subscribeLimits(t *testing.T, b server.Broker, l server.QueueLimits, topics ...string) server.Subscription {
	t.Helper()
	s, err := b.Subscribe(ctx(t), server.SubscribeRequest{Topics: topics, Limits: l})
	if err != nil {
		t.Fatalf("Subscribe(%q) = %v", topics, err)
	}
	t.Cleanup(s.Close)
	return s
}

func replay(t *testing.T, b server.Broker, after uint64, topics ...string) server.Cursor {
	t.Helper()
	c, err := b.Replay(ctx(t), topics, after)
	if err != nil {
		t.Fatalf("Replay(%q, %d) = %v", topics, after, err)
	}
	t.Cleanup(c.Close)
	return c
}

func decode(t testing.TB, f server.Frame) Event {
	t.Helper()
	e, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// receive waits for n live events, failing after the timeout.
func receive(t *testing.T, s server.Subscription, n int) []Event {
	t.Helper()
	var got []Event
	var frames []server.Frame
	deadline := time.After(timeout)
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

// readAll reads c until it has caught up.
func readAll(t *testing.T, c server.Cursor) []Event {
	t.Helper()
	var got []Event
	var page []server.Frame
	for {
		var err error
		page, err = c.Next(ctx(t), page[:0], 1<<20)
		if err != nil {
			t.Fatalf("Next() after %d events = %v", len(got), err)
		}
		if len(page) == 0 {
			return got
		}
		for _, f := range page {
			got = append(got, decode(t, f))
		}
	}
}

// quiet checks that nothing is waiting on s.
func quiet(t *testing.T, s server.Subscription) {
	t.Helper()
	frames, err := s.Fetch(nil)
	if len(frames) > 0 || err != nil {
		t.Fatalf("Fetch = %d frames, %v; want none", len(frames), err)
	}
}

func wantData(t *testing.T, got []Event, want ...string) {
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

func checkOrder(t *testing.T, got []Event) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i-1].Seq >= got[i].Seq {
			t.Fatalf("events out of sequence order: %q then %q", got[i-1].ID, got[i].ID)
		}
	}
}

func testIDs(t *testing.T, b server.Broker) {
	if _, err := server.ParseEventID(b.Epoch() + "-0"); err != nil {
		t.Fatalf("Epoch() = %q is not a valid epoch", b.Epoch())
	}
	a := publish(t, b, "a", "1")
	c := publish(t, b, "b", "2")
	d := publish(t, b, "a", "3")
	for _, id := range []server.EventID{a, c, d} {
		if id.Epoch != b.Epoch() {
			t.Fatalf("ID %s is not of the broker's epoch %q", id, b.Epoch())
		}
	}
	if !(a.Seq < c.Seq && c.Seq < d.Seq) {
		t.Fatalf("sequences %d %d %d do not grow across topics", a.Seq, c.Seq, d.Seq)
	}
}

func testLive(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "a")
	id := publish(t, b, "a", "x")
	got := receive(t, s, 1)
	if got[0] != (Event{Seq: id.Seq, ID: id.String(), Type: "test", Data: "x"}) {
		t.Fatalf("received %+v; want id %q, type test, data x", got[0], id)
	}
	quiet(t, s)
}

// testPosition checks that a subscription's position is the last sequence
// number assigned before it, on any topic, and that it receives exactly
// the events after it.
func testPosition(t *testing.T, b server.Broker) {
	empty := subscribe(t, b, "a")
	publish(t, b, "a", "1")
	last := publish(t, b, "b", "2")
	s := subscribe(t, b, "a")
	if s.Position() != last.Seq {
		t.Fatalf("Position() = %d; want %d, the last ID assigned (on another topic)", s.Position(), last.Seq)
	}
	if empty.Position() >= last.Seq {
		t.Fatalf("Position() of an earlier subscription = %d; want below %d", empty.Position(), last.Seq)
	}
	next := publish(t, b, "a", "3")
	if got := receive(t, s, 1); got[0].Seq != next.Seq {
		t.Fatalf("received %+v; want the event after the position", got[0])
	}
	wantData(t, receive(t, empty, 2), "1", "3")
}

func testTopicIsolation(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "a")
	publish(t, b, "b", "other")
	publish(t, b, "a.b", "prefix")
	publish(t, b, "a", "mine")
	wantData(t, receive(t, s, 1), "mine")
}

func testMultiTopicOrder(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "a", "b")
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

func testReplay(t *testing.T, b server.Broker) {
	var ids []server.EventID
	for i := range 5 {
		ids = append(ids, publish(t, b, "a", strconv.Itoa(i)))
	}
	wantData(t, readAll(t, replay(t, b, ids[1].Seq, "a")), "2", "3", "4")
	// Resuming from the newest event replays nothing.
	wantData(t, readAll(t, replay(t, b, ids[4].Seq, "a")))
	// Nor does a topic that never had an event.
	wantData(t, readAll(t, replay(t, b, ids[4].Seq, "none")))
}

func testReplayAcrossTopics(t *testing.T, b server.Broker) {
	first := publish(t, b, "a", "a0")
	for _, e := range []struct{ topic, data string }{{"b", "b1"}, {"c", "c2"}, {"a", "a3"}, {"b", "b4"}} {
		publish(t, b, e.topic, e.data)
	}
	got := readAll(t, replay(t, b, first.Seq, "a", "b"))
	wantData(t, got, "b1", "a3", "b4")
	checkOrder(t, got)
}

// testReplayPages reads a replay with a byte budget smaller than one
// event: each page holds one event, in order.
func testReplayPages(t *testing.T, b server.Broker) {
	first := publish(t, b, "a", "0")
	for i := 1; i <= 3; i++ {
		publish(t, b, "a", strconv.Itoa(i))
	}
	c := replay(t, b, first.Seq, "a")
	var got []Event
	for {
		page, err := c.Next(ctx(t), nil, 1)
		if err != nil {
			t.Fatalf("Next() = %v", err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) != 1 {
			t.Fatalf("Next(maxBytes 1) = %d frames; want 1", len(page))
		}
		got = append(got, decode(t, page[0]))
	}
	wantData(t, got, "1", "2", "3")
}

// testReplayFollows checks that a cursor that has caught up yields what is
// published after it was made: the server reads a replay until it meets
// the live queue, however long that takes.
func testReplayFollows(t *testing.T, b server.Broker) {
	first := publish(t, b, "a", "0")
	c := replay(t, b, first.Seq, "a")
	wantData(t, readAll(t, c))
	publish(t, b, "a", "1")
	publish(t, b, "b", "other")
	publish(t, b, "a", "2")
	var got []Event
	deadline := time.Now().Add(timeout)
	for len(got) < 2 { // a broker on the network may take a moment
		if time.Now().After(deadline) {
			t.Fatalf("cursor yielded %v after the new events; want 1, 2", got)
		}
		got = append(got, readAll(t, c)...)
	}
	wantData(t, got, "1", "2")
}

// testReplayThenLive resumes subscribers, the way the server does, while
// events are published, and checks that each sees every event after its ID
// exactly once.
func testReplayThenLive(t *testing.T, b server.Broker) {
	const total = 200
	first := publish(t, b, "a", "0")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i < total; i++ {
			if _, err := b.Publish(context.Background(), "a", message(t, b, strconv.Itoa(i))); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	}()
	got, err := Resume(ctx(t), b, first.Seq, total-1, []string{"a"}, nil)
	wg.Wait()
	if errors.Is(err, server.ErrExpired) {
		// Retention is 5: the publisher may have run that far ahead
		// before the replay was read. The contract holds as long as what
		// was delivered has no gap.
		if len(got) > 0 {
			t.Fatalf("Resume() = %d events, ErrExpired; want none with the error", len(got))
		}
		return
	}
	if err != nil {
		t.Fatalf("Resume() = %v", err)
	}
	for i, e := range got {
		if e.Data != strconv.Itoa(1+i) {
			t.Fatalf("event %d is %q; want %d (gap or duplicate between replay and live)", i, e.Data, 1+i)
		}
	}
}

// testLargeReplay replays more events than a subscription's queue holds,
// while live events arrive.
func testLargeReplay(t *testing.T, b server.Broker) {
	const n = server.DefaultQueueFrames + 1000
	first := publish(t, b, "a", "0")
	for i := 1; i <= n; i++ {
		publish(t, b, "a", strconv.Itoa(i))
	}
	got, err := Resume(ctx(t), b, first.Seq, n+10, []string{"a"}, func() {
		for i := n + 1; i <= n+10; i++ {
			publish(t, b, "a", strconv.Itoa(i))
		}
	})
	if err != nil {
		t.Fatalf("Resume() after %d events = %v", len(got), err)
	}
	for i, e := range got {
		if e.Data != strconv.Itoa(1+i) {
			t.Fatalf("event %d is %q; want %d", i, e.Data, 1+i)
		}
	}
}

func testReplayAhead(t *testing.T, b server.Broker) {
	id := publish(t, b, "a", "x")
	if _, err := b.Replay(ctx(t), []string{"a"}, id.Seq+1000); !errors.Is(err, server.ErrUnknownPosition) {
		t.Fatalf("Replay(ahead of the broker) = %v; want ErrUnknownPosition", err)
	}
	// The position of a subscription is never ahead.
	s := subscribe(t, b, "a")
	wantData(t, readAll(t, replay(t, b, s.Position(), "a")))
}

func testReplayExpired(t *testing.T, b server.Broker) {
	first := publish(t, b, "a", "0")
	for i := 1; i < 20; i++ { // retention is 5 per topic
		publish(t, b, "a", strconv.Itoa(i))
	}
	if err := replayErr(t, b, first.Seq, "a"); !errors.Is(err, server.ErrExpired) {
		t.Fatalf("Replay(trimmed position) = %v; want ErrExpired", err)
	}
	// The client of a reset resumes from a subscription's position.
	s := subscribe(t, b, "a")
	publish(t, b, "a", "after")
	wantData(t, readAll(t, replay(t, b, s.Position(), "a")), "after")
	wantData(t, receive(t, s, 1), "after")

	// Expiry on one topic fails a replay of several.
	mark := publish(t, b, "quiet", "q")
	for i := range 20 {
		publish(t, b, "a", strconv.Itoa(i))
	}
	if err := replayErr(t, b, mark.Seq, "quiet", "a"); !errors.Is(err, server.ErrExpired) {
		t.Fatalf("Replay(position expired on one of two topics) = %v; want ErrExpired", err)
	}
}

// replayErr returns the error of replaying after the sequence number after
// on topics: from Replay, or from reading the cursor before it has caught
// up, since a broker may find out only as it reads.
func replayErr(t *testing.T, b server.Broker, after uint64, topics ...string) error {
	t.Helper()
	c, err := b.Replay(ctx(t), topics, after)
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		page, err := c.Next(ctx(t), nil, 1<<20)
		if err != nil || len(page) == 0 {
			return err
		}
	}
}

// testExpiredWhileReading trims events ahead of a cursor before it reads
// them: the cursor must say so rather than skip them.
func testExpiredWhileReading(t *testing.T, b server.Broker) {
	first := publish(t, b, "a", "0")
	publish(t, b, "a", "1")
	c := replay(t, b, first.Seq, "a")
	page, err := c.Next(ctx(t), nil, 1)
	if err != nil || len(page) != 1 {
		t.Fatalf("Next() = %d frames, %v; want 1", len(page), err)
	}
	for i := range 20 { // retention is 5: "1" and what follows are trimmed
		publish(t, b, "a", strconv.Itoa(100+i))
	}
	for {
		page, err = c.Next(ctx(t), page[:0], 1<<20)
		if errors.Is(err, server.ErrExpired) {
			return
		}
		if err != nil || len(page) == 0 {
			t.Fatalf("Next() after trimming = %d frames, %v; want ErrExpired", len(page), err)
		}
		if e := decode(t, page[0]); e.Data != "1" && e.Data != "100" {
			t.Fatalf("Next() after trimming yields %q: it skipped trimmed events", e.Data)
		}
	}
}

func testSlowConsumer(t *testing.T, b server.Broker) {
	slow := subscribeLimits(t, b, server.QueueLimits{Frames: 4}, "a")
	fast := subscribe(t, b, "a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			publish(t, b, "a", strconv.Itoa(i))
		}
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if got := receive(t, fast, 50); len(got) != 50 {
		t.Fatalf("fast subscriber got %d events", len(got))
	}
	deadline := time.After(timeout)
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
	s := subscribeLimits(t, b, server.QueueLimits{Frames: publishers * each}, "a", "b")
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				topic := []string{"a", "b"}[(p+i)%2]
				if _, err := b.Publish(context.Background(), topic, message(t, b, fmt.Sprintf("%d/%d", p, i))); err != nil {
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
	s := subscribe(t, b, "a")
	s.Close()
	s.Close() // idempotent
	publish(t, b, "a", "after close")
	other := subscribe(t, b, "a")
	publish(t, b, "a", "x")
	wantData(t, receive(t, other, 1), "x")
}

func testClose(t *testing.T, b server.Broker) {
	s := subscribe(t, b, "a")
	publish(t, b, "a", "queued")
	if err := b.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	if _, err := b.Publish(context.Background(), "a", message(t, b, "x")); !errors.Is(err, server.ErrBrokerClosed) {
		t.Fatalf("Publish after Close = %v; want ErrBrokerClosed", err)
	}
	if _, err := b.Subscribe(context.Background(), server.SubscribeRequest{Topics: []string{"a"}}); !errors.Is(err, server.ErrBrokerClosed) {
		t.Fatalf("Subscribe after Close = %v; want ErrBrokerClosed", err)
	}
	if _, err := b.Replay(context.Background(), []string{"a"}, 0); !errors.Is(err, server.ErrBrokerClosed) {
		t.Fatalf("Replay after Close = %v; want ErrBrokerClosed", err)
	}
	var got []Event
	deadline := time.After(timeout)
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
