package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// TestStreamHeaders checks the response that makes a browser's EventSource
// announce the connection: 200, text/event-stream, no caching, no
// Content-Length, sent before any event is published. WHATWG HTML §9.2.2
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface)
// requires the status and the content type; WPT
// eventsource/eventsource-onopen checks the open event that follows.
func TestStreamHeaders(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil)
	s := open(t, h.url("a"), nil) // returns once the headers arrive; nothing is published

	if s.resp.StatusCode != http.StatusOK {
		t.Errorf("StatusCode = %d; want 200", s.resp.StatusCode)
	}
	tests := []struct{ header, want string }{
		{"Content-Type", "text/event-stream"},
		{"Cache-Control", "no-store"},
		{"X-Accel-Buffering", "no"},
		{"Content-Length", ""},
	}
	for _, tt := range tests {
		if got := s.resp.Header.Get(tt.header); got != tt.want {
			t.Errorf("Header.Get(%q) = %q; want %q", tt.header, got, tt.want)
		}
	}
	if s.resp.ContentLength != -1 || !slices.Equal(s.resp.TransferEncoding, []string{"chunked"}) {
		t.Errorf("ContentLength, TransferEncoding = %d, %q; want -1, [chunked]", s.resp.ContentLength, s.resp.TransferEncoding)
	}
}

// TestHello checks the start of every stream: the reconnection time and the
// hello event with the registry's fingerprint and the heartbeat interval.
// To a client that sent its Last-Event-ID, the hello carries no id, so that
// the client keeps its own.
func TestHello(t *testing.T) {
	t.Parallel()
	type T struct {
		N int `json:"n"`
	}
	reg := schema.MustRegistry(schema.Define[T]("x"))
	tests := []struct {
		name        string
		opts        []server.Option
		retry       time.Duration
		fingerprint string
		events      []string
	}{
		{"Defaults", nil, server.DefaultRetry, "", nil},
		{"Registry", []server.Option{server.WithRegistry(reg), server.WithRetry(1500 * time.Millisecond)}, 1500 * time.Millisecond, reg.Fingerprint(), []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, nil, tt.opts...)
			before := h.publish(t, "a", 0)
			s := open(t, h.url("a"), http.Header{"Last-Event-Id": {before}})
			s.dec.SetLastEventID(before)
			ev := s.next()
			if ev.Type != schema.HelloEvent {
				t.Fatalf("first event = %+v; want %s", ev, schema.HelloEvent)
			}
			var hello schema.Hello
			if err := json.Unmarshal([]byte(ev.Data), &hello); err != nil {
				t.Fatalf("hello data %q: %v", ev.Data, err)
			}
			if hello.Fingerprint != tt.fingerprint || !slices.Equal(hello.Events, tt.events) {
				t.Errorf("Got(hello) = %+v; want fingerprint %q, events %q", hello, tt.fingerprint, tt.events)
			}
			if tt.fingerprint != "" && !strings.Contains(ev.Data, tt.fingerprint) {
				t.Errorf("Got(hello data) = %q; want it to contain %q", ev.Data, tt.fingerprint)
			}
			if got, ok := s.dec.Retry(); !ok || got != tt.retry {
				t.Errorf("Got(Retry()) = %v, %v; want %v, true", got, ok, tt.retry)
			}
			if got := s.dec.LastEventID(); got != before {
				t.Errorf("Got(LastEventID() after hello) = %q; want %q kept", got, before)
			}
			if hello.Heartbeat != server.DefaultHeartbeat.Milliseconds() {
				t.Errorf("Got(hello heartbeat) = %d; want %d ms", hello.Heartbeat, server.DefaultHeartbeat.Milliseconds())
			}
		})
	}
}

// TestFanOut sends the same events to many clients, each in publish order.
func TestFanOut(t *testing.T) {
	t.Parallel()
	const clients, events = 50, 100
	h := start(t, nil, nil)
	streams := make([]*stream, clients)
	for i := range streams {
		streams[i] = connect(t, h.url("a"), nil)
	}
	ids := make([]string, events)
	for i := range ids {
		ids[i] = h.publish(t, "a", int64(i))
	}
	var wg sync.WaitGroup
	for c, s := range streams {
		wg.Go(func() {
			for i := range events {
				ev, err := s.dec.Next() // not s.next: Fatal must not run off the test's goroutine
				if err != nil {
					t.Errorf("client %d: Next() after %d events = %v", c, i, err)
					return
				}
				var p Price
				if err := json.Unmarshal([]byte(ev.Data), &p); err != nil || p.Cents != int64(i) || ev.ID != ids[i] {
					t.Errorf("client %d: Got(event %d) = %+v; want cents %d, id %q", c, i, ev, i, ids[i])
					return
				}
			}
		})
	}
	wg.Wait()
	// The server counts a frame once its write returns, which may be after
	// the client has read it.
	waitFor(t, "Stats().Delivered = clients*events", func() bool { return h.srv.Stats().Delivered == clients*events })
}

type pub struct {
	topic string
	cents int64
}

// TestReplay reconnects a client of several topics with its Last-Event-ID:
// it gets exactly the events it missed on its topics, in order, then live
// events, with no gap and no duplicate.
func TestReplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before []pub   // published and read before the client goes
		missed []pub   // published while it is away
		want   []int64 // replayed on reconnection
	}{
		{
			name:   "MissedOnBothTopics",
			before: []pub{{"a", 0}, {"b", 1}, {"c", 2}, {"a", 3}},
			missed: []pub{{"b", 4}, {"c", 5}, {"a", 6}, {"b", 7}, {"a", 8}},
			want:   []int64{4, 6, 7, 8},
		},
		{
			name:   "MissedOnlyOtherTopics",
			before: []pub{{"a", 0}, {"b", 1}},
			missed: []pub{{"c", 2}, {"d", 3}},
			want:   nil,
		},
		{
			name:   "NothingMissed",
			before: []pub{{"b", 0}, {"a", 1}},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, nil)
			first := connect(t, h.url("a", "b"), nil)
			var lastID string
			for _, p := range tt.before {
				id := h.publish(t, p.topic, p.cents)
				if p.topic != "a" && p.topic != "b" {
					continue
				}
				lastID = id
				if got := first.cents(); got != p.cents {
					t.Fatalf("Got(live event) = %d; want %d", got, p.cents)
				}
			}
			if got := first.dec.LastEventID(); got != lastID {
				t.Fatalf("Got(LastEventID()) = %q; want %q", got, lastID)
			}
			first.close()

			ids := make(map[int64]string)
			for _, p := range tt.missed {
				ids[p.cents] = h.publish(t, p.topic, p.cents)
			}
			again := connect(t, h.url("a", "b"), http.Header{"Last-Event-Id": {first.dec.LastEventID()}})
			for _, want := range tt.want {
				ev := again.next()
				var p Price
				if err := json.Unmarshal([]byte(ev.Data), &p); err != nil || p.Cents != want || ev.ID != ids[want] {
					t.Fatalf("Got(replayed event) = %+v; want cents %d, id %q", ev, want, ids[want])
				}
			}
			h.publish(t, "c", 100)
			h.publish(t, "b", 101)
			if got := again.cents(); got != 101 {
				t.Fatalf("Got(first live event after replay) = %d; want 101 (a gap or a duplicate)", got)
			}
			if got := h.srv.Stats().Replayed; got != uint64(len(tt.want)) {
				t.Errorf("Got(Stats().Replayed) = %d; want %d", got, len(tt.want))
			}
		})
	}
}

// TestReset checks that a Last-Event-ID the server cannot resume from gets
// the reset event with its reason before live events, and that the reset's
// ID resumes without another reset.
func TestReset(t *testing.T) {
	t.Parallel()
	other := server.NewEpoch()
	tests := []struct {
		name   string
		broker []server.MemoryOption
		opts   []server.Option
		// lastID returns the Last-Event-ID to send, given the ID of an
		// event on topic a followed by 20 more on a.
		lastID func(b *server.MemoryBroker, first string) string
		want   string
	}{
		{"Epoch", nil, nil, func(b *server.MemoryBroker, first string) string {
			if other == b.Epoch() {
				panic("NewEpoch returned the broker's epoch")
			}
			return server.EventID{Epoch: other, Seq: 1}.String()
		}, schema.ResetEpoch},
		{"Malformed", nil, nil, func(*server.MemoryBroker, string) string { return "not an id" }, schema.ResetMalformed},
		{"MalformedSequence", nil, nil, func(b *server.MemoryBroker, _ string) string { return b.Epoch() + "-x1" }, schema.ResetMalformed},
		{"TooLong", nil, []server.Option{server.WithMaxLastEventIDLength(32)}, func(*server.MemoryBroker, string) string { return strings.Repeat("1", 33) }, schema.ResetTooLong},
		{"TooLongDefault", nil, nil, func(*server.MemoryBroker, string) string {
			return strings.Repeat("1", server.DefaultMaxLastEventIDLen+1)
		}, schema.ResetTooLong},
		{"Expired", []server.MemoryOption{server.WithRetention(5, 0)}, nil, func(_ *server.MemoryBroker, first string) string { return first }, schema.ResetExpired},
		{"Unknown", nil, nil, func(b *server.MemoryBroker, first string) string {
			id, err := server.ParseEventID(first)
			if err != nil {
				panic(err)
			}
			id.Seq += 1000
			return id.String()
		}, schema.ResetUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, server.NewMemoryBroker(tt.broker...), nil, tt.opts...)
			first := h.publish(t, "a", 0)
			for i := 1; i <= 20; i++ {
				h.publish(t, "a", int64(i))
			}
			lastID := tt.lastID(h.broker, first)
			s := connect(t, h.url("a"), http.Header{"Last-Event-Id": {lastID}})
			ev := s.next()
			if got := reset(t, ev); got != tt.want {
				t.Fatalf("Got(reset reason for %q) = %q; want %q", lastID, got, tt.want)
			}
			h.publish(t, "a", 21)
			if got := s.cents(); got != 21 {
				t.Fatalf("Got(event after the reset) = %d; want 21", got)
			}
			if st := h.srv.Stats(); st.Resets != 1 || st.Replayed != 0 {
				t.Errorf("Got(Stats()) = %+v; want Resets 1, Replayed 0", st)
			}

			// The reset's ID is a position the server can resume from.
			again := connect(t, h.url("a"), http.Header{"Last-Event-Id": {ev.ID}})
			if got := again.cents(); got != 21 {
				t.Fatalf("Got(event after resuming from the reset's ID %q) = %d; want 21", ev.ID, got)
			}
		})
	}
}

// TestHeartbeat reads the raw stream: comments are invisible to a decoder.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil, server.WithHeartbeat(50*time.Millisecond))
	s := open(t, h.url("a"), nil)
	r := bufio.NewReader(s.resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("ReadString() = %q, %v; want a comment line", line, err)
		}
		if strings.HasPrefix(line, ":") {
			return
		}
	}
}

// TestServerTimeoutsDoNotCutStreams runs the handler under an http.Server
// whose ReadTimeout and WriteTimeout would end any ordinary response after
// 200ms: streams must outlive them.
func TestServerTimeoutsDoNotCutStreams(t *testing.T) {
	t.Parallel()
	const limit = 200 * time.Millisecond
	b := server.NewMemoryBroker()
	t.Cleanup(func() { b.Close() })
	srv := server.New(b, server.WithLogger(quiet))
	hs := &http.Server{Handler: srv, ReadTimeout: limit, WriteTimeout: limit}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Shutdown(ctx)
	})

	s := connect(t, "http://"+ln.Addr().String()+"/?topic=a", nil)
	began := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(limit / 8)
		defer tick.Stop()
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := server.Publish(context.Background(), b, "a", priceTick, Price{Cents: i}); err != nil {
					return
				}
			}
		}
	}()
	for want := int64(0); time.Since(began) < 5*limit || want < 3; want++ {
		if got := s.cents(); got != want {
			t.Fatalf("Got(event %d) = %d after %v", want, got, time.Since(began))
		}
	}
}

// flushCounter counts the handler's flushes, and holds its first write
// until released, so that events queue meanwhile.
type flushCounter struct {
	http.ResponseWriter
	flushes *atomic.Int64
	first   *sync.Once
	writing chan struct{} // closed when the first write starts
	release chan struct{} // the first write waits for it
}

func (w flushCounter) Write(b []byte) (int, error) {
	w.first.Do(func() {
		close(w.writing)
		<-w.release
	})
	return w.ResponseWriter.Write(b)
}

func (w flushCounter) Flush() {
	w.flushes.Add(1)
	w.ResponseWriter.(http.Flusher).Flush()
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (w flushCounter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestWriteCoalescing publishes many events while the connection's writer
// is busy: they go out in one write and one flush.
func TestWriteCoalescing(t *testing.T) {
	t.Parallel()
	const events = 1000
	fc := flushCounter{
		flushes: new(atomic.Int64), first: new(sync.Once),
		writing: make(chan struct{}), release: make(chan struct{}),
	}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(fc.release) }) }
	h := start(t, nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fc.ResponseWriter = w
			next.ServeHTTP(fc, r)
		})
	})
	t.Cleanup(release) // runs first: a failed test must not leave the handler blocked

	// The response headers go out with the first flush, after the held
	// write: the request must not wait on the test's goroutine.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url("a"), nil)
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		done <- result{resp, err}
	}()
	select {
	case <-fc.writing: // the subscription exists: the hello is being written
	case <-time.After(timeout):
		t.Fatal("the handler never wrote the hello")
	}
	for i := range events {
		h.publish(t, "a", int64(i))
	}
	release()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	s := &stream{t: t, resp: res.resp, dec: sse.NewDecoder(res.resp.Body), cancel: cancel}
	t.Cleanup(s.close)

	if ev := s.next(); ev.Type != schema.HelloEvent {
		t.Fatalf("first event = %+v; want hello", ev)
	}
	for i := range events {
		if got := s.cents(); got != int64(i) {
			t.Fatalf("Got(event %d) = %d", i, got)
		}
	}
	// One flush for the hello, one for everything that queued behind it.
	if got := fc.flushes.Load(); got > 2 {
		t.Errorf("Got(Flush calls for %d events) = %d; want 2", events, got)
	}
}

// TestLastEventIDQuery resumes from the lastEventId query parameter, which
// a page that opens a new EventSource (it cannot set headers) sends; the
// header a reconnecting browser sends wins over it.
func TestLastEventIDQuery(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil)
	ids := []string{h.publish(t, "a", 0), h.publish(t, "a", 1), h.publish(t, "a", 2)}
	tests := []struct {
		name   string
		query  string
		header string
		want   int64 // the first event received
	}{
		{"Query", ids[0], "", 1},
		{"HeaderWins", ids[0], ids[1], 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header := http.Header{}
			if tt.header != "" {
				header.Set("Last-Event-Id", tt.header)
			}
			s := connect(t, h.url("a")+"&lastEventId="+tt.query, header)
			if got := s.cents(); got != tt.want {
				t.Errorf("Got(first event resuming from query %q, header %q) = %d; want %d", tt.query, tt.header, got, tt.want)
			}
		})
	}
}
