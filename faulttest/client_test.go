package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// Tick is the payload of every event the suite publishes: its topic and its
// number on that topic, 1, 2, 3..., so that a lost, repeated or reordered
// event shows in the payload, not only in the IDs. Pad makes an event as
// large as a test needs.
type Tick struct {
	Topic string `json:"topic"`
	N     int    `json:"n"`
	Pad   string `json:"pad,omitempty"`
}

var tick = schema.Define[Tick]("fault.tick")

// entry is one published event, as the ledger remembers it.
type entry struct {
	seq   uint64
	topic string
	n     int
	at    time.Time // when its publish returned
}

// ledger publishes the suite's events and remembers every one, so that what
// a client received can be checked against what was published. Publishing
// is serialized: entries are in sequence order, and the numbers on a topic
// follow it.
type ledger struct {
	tb  testing.TB
	pub func(ctx context.Context, topic, key string, v Tick) (id string, err error)

	mu     sync.Mutex
	next   map[string]int
	all    []entry
	forgot int // entries dropped by forget
}

// newLedger publishes through b.
func newLedger(tb testing.TB, b server.Broker) *ledger {
	return &ledger{tb: tb, next: make(map[string]int), pub: func(ctx context.Context, topic, _ string, v Tick) (string, error) {
		return server.Publish(ctx, b, topic, tick, v)
	}}
}

// publish publishes the next event of topic, padded with pad bytes, and
// fails the test on an error.
func (l *ledger) publish(topic string, pad int) entry {
	l.tb.Helper()
	e, err := l.tryPublish(topic, pad)
	if err != nil {
		l.tb.Fatalf("publish on %q: %v", topic, err)
	}
	return e
}

// tryPublish publishes the next event of topic. The key it gives the
// publish function names the event (topic and number), for brokers that
// de-duplicate retries.
func (l *ledger) tryPublish(topic string, pad int) (entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.next[topic] + 1
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	id, err := l.pub(ctx, topic, fmt.Sprintf("%s/%d", topic, n), Tick{Topic: topic, N: n, Pad: strings.Repeat("x", pad)})
	if err != nil {
		return entry{}, err
	}
	eid, err := server.ParseEventID(id)
	if err != nil {
		return entry{}, fmt.Errorf("publish returned ID %q: %v", id, err)
	}
	if len(l.all) > 0 && eid.Seq <= l.all[len(l.all)-1].seq {
		return entry{}, fmt.Errorf("publish returned ID %q, not after the previous event's %d", id, l.all[len(l.all)-1].seq)
	}
	l.next[topic] = n
	e := entry{seq: eid.Seq, topic: topic, n: n, at: time.Now()}
	l.all = append(l.all, e)
	return e, nil
}

// last returns the sequence number of the last event published on any of
// topics, 0 when there is none.
func (l *ledger) last(topics []string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.all) - 1; i >= 0; i-- {
		if slices.Contains(topics, l.all[i].topic) {
			return l.all[i].seq
		}
	}
	return 0
}

// publishedAt returns when the event seq was published, and false when the
// ledger has no such event (yet).
func (l *ledger) publishedAt(seq uint64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := slices.BinarySearchFunc(l.all, seq, func(e entry, seq uint64) int { return cmpSeq(e.seq, seq) })
	if !ok {
		return time.Time{}, false
	}
	return l.all[i].at, true
}

// waitSeq waits until the ledger has recorded the event seq: a client can
// receive an event before its publisher has returned.
func (l *ledger) waitSeq(tb testing.TB, seq uint64) {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("the ledger to record seq %d", seq), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.all) > 0 && l.all[len(l.all)-1].seq >= seq
	})
}

// forget drops what the ledger remembers (its count stays), so that it
// does not count as the heap of what is measured.
func (l *ledger) forget() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgot += len(l.all)
	l.all = nil
}

// count returns how many events were published.
func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.forgot + len(l.all)
}

// want returns the events on topics with a sequence number in (after, upTo].
func (l *ledger) want(topics []string, after, upTo uint64) []entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.all, after+1, func(e entry, seq uint64) int { return cmpSeq(e.seq, seq) })
	var out []entry
	for _, e := range l.all[i:] {
		if e.seq > upTo {
			break
		}
		if slices.Contains(topics, e.topic) {
			out = append(out, e)
		}
	}
	return out
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// endpoint is where a client reaches a stream: the URL of a stream
// endpoint (an instance's, or a proxy's in front of it) and the HTTP client
// that speaks its protocol.
type endpoint struct {
	url    string
	client *http.Client
}

// errSilent is why a client gives up a stream on which nothing, not even a
// heartbeat, arrived for a few heartbeat intervals.
var errSilent = errors.New("faulttest: the stream was silent for too long")

// stream is one response of a stream endpoint, read as a client does: the
// decoder the wasm client uses, and a watchdog that gives the stream up
// when it has been silent for a few of the heartbeat intervals its hello
// announced.
type stream struct {
	resp    *http.Response
	body    *watched
	dec     *sse.Decoder
	ctx     context.Context
	cancel  context.CancelCauseFunc
	hello   schema.Hello
	helloID string
	silence atomic.Int64 // the read timeout, nanoseconds
	done    chan struct{}
	once    sync.Once
}

// silentHeartbeats is the client's read timeout in heartbeat intervals.
const silentHeartbeats = 3

// Under the race detector on a busy machine a goroutine can wait most of
// a second for a core: a client that watches for a fault on another path,
// rather than on its own, gives up only after controlPatience intervals.
const controlPatience = 10

// openStream opens a stream of topics on ep, resuming after lastID when it
// is not "", and reads its hello. Until the hello arrives the read timeout
// is first: the time to wait for a server that does not answer.
func openStream(ctx context.Context, ep endpoint, topics []string, lastID string, first time.Duration, patience int) (*stream, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	u := ep.url + "?" + url.Values{"topic": topics}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel(err)
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	s := &stream{ctx: ctx, cancel: cancel, done: make(chan struct{})}
	s.silence.Store(int64(first))
	s.body = &watched{}
	s.body.touch()
	go s.watch()
	resp, err := ep.client.Do(req)
	if err != nil {
		s.close()
		return nil, s.cause(err)
	}
	s.resp = resp
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		s.close()
		return nil, fmt.Errorf("GET %s: %s (%s)", u, resp.Status, strings.TrimSpace(string(b)))
	}
	s.body.r = resp.Body
	s.dec = sse.NewDecoder(s.body)
	s.dec.SetLastEventID(lastID)
	ev, err := s.dec.Next()
	if err != nil {
		s.close()
		return nil, s.cause(err)
	}
	if ev.Type != schema.HelloEvent {
		s.close()
		return nil, fmt.Errorf("first event %+v; want %s", ev, schema.HelloEvent)
	}
	if err := json.Unmarshal([]byte(ev.Data), &s.hello); err != nil {
		s.close()
		return nil, fmt.Errorf("hello data %q: %v", ev.Data, err)
	}
	if ev.ID != lastID {
		s.helloID = ev.ID
	}
	if s.hello.Heartbeat > 0 {
		s.silence.Store(int64(time.Duration(patience) * time.Duration(s.hello.Heartbeat) * time.Millisecond))
	}
	return s, nil
}

// watch cancels the stream when nothing arrived for the read timeout.
func (s *stream) watch() {
	for {
		d := time.Duration(s.silence.Load())
		t := time.NewTimer(d / 4)
		select {
		case <-s.done:
			t.Stop()
			return
		case <-t.C:
		}
		if time.Since(s.body.lastRead()) > time.Duration(s.silence.Load()) {
			s.cancel(errSilent)
			return
		}
	}
}

// cause returns errSilent for a read that failed because the watchdog gave
// the stream up, else err.
func (s *stream) cause(err error) error {
	if c := context.Cause(s.ctx); errors.Is(c, errSilent) {
		return errSilent
	}
	return err
}

// next returns the stream's next event.
func (s *stream) next() (sse.Event, error) {
	ev, err := s.dec.Next()
	if err != nil {
		return ev, s.cause(err)
	}
	return ev, nil
}

// close ends the stream from the client's side; it is idempotent.
func (s *stream) close() {
	s.once.Do(func() {
		close(s.done)
		s.cancel(context.Canceled)
		if s.resp != nil {
			s.resp.Body.Close()
		}
	})
}

// watched is a response body that records when it last delivered bytes
// (any, a heartbeat comment too) and how many bytes came after the last
// complete event.
type watched struct {
	r    io.Reader
	last atomic.Int64 // unix nanoseconds
	tail atomic.Int64 // bytes since the last blank line
	prev byte
}

func (w *watched) touch()              { w.last.Store(time.Now().UnixNano()) }
func (w *watched) lastRead() time.Time { return time.Unix(0, w.last.Load()) }

func (w *watched) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.touch()
		tail := w.tail.Load()
		for _, b := range p[:n] {
			if b == '\n' && w.prev == '\n' {
				tail = 0
			} else {
				tail++
			}
			w.prev = b
		}
		w.tail.Store(tail)
	}
	return n, err
}

// rec is one event a client received.
type rec struct {
	seq   uint64
	id    string
	topic string
	n     int
	conn  int // the client's stream it came on, from 1
}

// sub is a client that follows topics across reconnections as a browser
// does: it resumes with the last event ID it saw or, having seen no event,
// with the id of the hello. Its methods are used by one goroutine; the
// counters may be read from others.
type sub struct {
	tb       testing.TB
	name     string
	topics   []string
	eps      []endpoint    // tried in turn, from the one that served last
	first    time.Duration // the read timeout until a hello arrives
	patience int           // the read timeout after it, in heartbeat intervals

	lastID string
	start  uint64 // the position of the first stream, set by its hello
	begun  bool
	ep     int
	prefer bool // after a stream, try eps[0] first again
	served bool // the last open succeeded

	mu       sync.Mutex
	got      []rec
	resets   []string
	streams  int           // streams opened (hello received)
	eofs     int           // streams the server ended cleanly
	silent   int           // streams given up for silence
	failures int           // attempts that got no stream
	ends     []string      // why the last streams ended, for failure messages
	lastSeq  atomic.Uint64 // the last event received, or the first position
}

func newSub(tb testing.TB, name string, topics []string, eps ...endpoint) *sub {
	return &sub{tb: tb, name: name, topics: topics, eps: eps, first: 2 * time.Second, patience: silentHeartbeats}
}

// open opens a stream on the sub's current endpoint, or the next one when
// it fails, from the sub's position.
func (s *sub) open(ctx context.Context) (*stream, error) {
	if s.prefer && s.served {
		s.ep = 0
	}
	ep := s.eps[s.ep%len(s.eps)]
	st, err := openStream(ctx, ep, s.topics, s.lastID, s.first, s.patience)
	s.served = err == nil
	if err != nil {
		s.mu.Lock()
		s.failures++
		s.ended(err)
		s.mu.Unlock()
		s.ep++
		return nil, err
	}
	if st.helloID != "" {
		s.lastID = st.helloID
	}
	if !s.begun {
		id, err := server.ParseEventID(s.lastID)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("%s: first hello has no usable id (%q): %v", s.name, s.lastID, err)
		}
		s.start, s.begun = id.Seq, true
		// Events at or before the first position are none of its
		// business: it has caught up with them.
		s.lastSeq.Store(max(s.lastSeq.Load(), id.Seq))
	}
	s.mu.Lock()
	s.streams++
	s.mu.Unlock()
	return st, nil
}

// ended records why a stream ended or failed to open. Call with s.mu held.
func (s *sub) ended(err error) {
	if len(s.ends) == 8 {
		s.ends = s.ends[1:]
	}
	s.ends = append(s.ends, err.Error())
}

// read returns the next tick of st, recording it, a reset and heartbeat
// events on the way.
func (s *sub) read(st *stream) (rec, error) {
	for {
		ev, err := st.next()
		if err != nil {
			s.mu.Lock()
			switch {
			case errors.Is(err, errSilent):
				s.silent++
			case errors.Is(err, io.EOF):
				s.eofs++
			}
			s.ended(err)
			s.mu.Unlock()
			return rec{}, err
		}
		switch ev.Type {
		case schema.HeartbeatEvent:
			continue
		case schema.ResetEvent:
			s.mu.Lock()
			s.resets = append(s.resets, ev.Data)
			s.mu.Unlock()
			s.lastID = ev.ID
			continue
		case tick.Name():
		default:
			return rec{}, fmt.Errorf("%s: unexpected event %+v", s.name, ev)
		}
		v, err := tick.Decode([]byte(ev.Data))
		if err != nil {
			return rec{}, fmt.Errorf("%s: %v", s.name, err)
		}
		id, err := server.ParseEventID(ev.ID)
		if err != nil {
			return rec{}, fmt.Errorf("%s: event %+v: %v", s.name, ev, err)
		}
		s.lastID = ev.ID
		r := rec{seq: id.Seq, id: ev.ID, topic: v.Topic, n: v.N}
		s.mu.Lock()
		r.conn = s.streams
		s.got = append(s.got, r)
		s.mu.Unlock()
		s.lastSeq.Store(id.Seq)
		return r, nil
	}
}

// follow reads the sub's topics until until reports true (checked at every
// event and every reconnection), reconnecting whenever a stream ends, and
// fails the test at timeout. onEvent, when not nil, sees each event with
// its stream and returns false to end the stream from the client's side.
func (s *sub) follow(until func() bool, onEvent func(*stream, rec) bool) {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	backoff := 5 * time.Millisecond
	for !until() {
		if ctx.Err() != nil {
			s.mu.Lock()
			ends := slices.Clone(s.ends)
			s.mu.Unlock()
			s.tb.Errorf("%s: timed out after %v at %s (last ID %q, %d events, %d streams; last ends %q)", s.name, timeout, s.lastSeqOrStart(), s.lastID, s.received(), s.opened(), ends)
			return
		}
		st, err := s.open(ctx)
		if err != nil {
			// A reconnection waits, as EventSource waits its retry time.
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, 200*time.Millisecond)
			continue
		}
		backoff = 5 * time.Millisecond
		// until may come true while the stream waits for an event that
		// will never come: end the stream then.
		idle := make(chan struct{})
		go func() {
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for !until() {
				select {
				case <-idle:
					return
				case <-tick.C:
				}
			}
			st.close()
		}()
		for !until() {
			r, err := s.read(st)
			if err != nil {
				break
			}
			if onEvent != nil && !onEvent(st, r) {
				break
			}
		}
		close(idle)
		st.close()
	}
}

// caughtUp returns a condition for follow: the sub has every event
// published on its topics up to now (the ledger's last on them).
func (s *sub) caughtUp(l *ledger) func() bool {
	last := l.last(s.topics)
	return func() bool { return s.lastSeq.Load() >= last }
}

func (s *sub) lastSeqOrStart() string { return fmt.Sprintf("seq %d", max(s.lastSeq.Load(), s.start)) }

func (s *sub) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func (s *sub) opened() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams
}

// tally counts, for a report, what a client lost and received twice.
type tally struct {
	lost, dup, reordered int
	foreign              int // received, but not published as received
}

// check compares what s received with every event published on its topics
// after its first position, up to upTo (0: up to the last one published),
// and fails the test on any difference: lost, repeated, reordered events,
// a payload that does not match its ID, or a reset.
func (s *sub) check(l *ledger, upTo uint64) tally {
	s.tb.Helper()
	s.mu.Lock()
	got := slices.Clone(s.got)
	resets := slices.Clone(s.resets)
	s.mu.Unlock()
	if upTo == 0 {
		upTo = l.last(s.topics)
	}
	want := l.want(s.topics, s.start, upTo)
	t := compare(got, want)
	if len(resets) > 0 {
		s.tb.Errorf("%s: got %d resets %q; want none (everything was retained)", s.name, len(resets), resets)
	}
	if t != (tally{}) {
		s.tb.Errorf("%s: %d events lost, %d duplicated, %d out of order, %d not as published, of %d published after seq %d on %q: %s",
			s.name, t.lost, t.dup, t.reordered, t.foreign, len(want), s.start, s.topics, firstDiff(got, want))
	}
	return t
}

// compare counts the events of want missing from got, the events received
// more than once, and those that came after an event published later.
func compare(got []rec, want []entry) tally {
	var t tally
	seen := make(map[uint64]int, len(got))
	var prev uint64
	for _, r := range got {
		seen[r.seq]++
		if seen[r.seq] > 1 {
			t.dup++
		} else if r.seq < prev {
			t.reordered++
		}
		prev = max(prev, r.seq)
	}
	byseq := make(map[uint64]entry, len(want))
	for _, e := range want {
		byseq[e.seq] = e
		if seen[e.seq] == 0 {
			t.lost++
		}
	}
	for _, r := range got {
		e, ok := byseq[r.seq]
		if !ok || e.topic != r.topic || e.n != r.n {
			t.foreign++
		}
	}
	return t
}

// firstDiff describes where got first departs from want.
func firstDiff(got []rec, want []entry) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("missing from #%d on: %+v", i, want[i])
		case i >= len(want):
			return fmt.Sprintf("extra from #%d on: %+v", i, got[i])
		case got[i].seq != want[i].seq || got[i].topic != want[i].topic || got[i].n != want[i].n:
			return fmt.Sprintf("#%d is %s %d (seq %d, stream %d); want %s %d (seq %d)", i, got[i].topic, got[i].n, got[i].seq, got[i].conn, want[i].topic, want[i].n, want[i].seq)
		}
	}
	return "same events"
}

// totals adds up the tallies of a test's clients, to log.
func totals(ts ...tally) tally {
	var sum tally
	for _, t := range ts {
		sum.lost += t.lost
		sum.dup += t.dup
		sum.reordered += t.reordered
		sum.foreign += t.foreign
	}
	return sum
}
