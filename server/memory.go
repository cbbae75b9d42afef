package server

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// Default retention of the memory broker.
const (
	DefaultRetainEvents = 10_000           // per topic
	DefaultRetainAge    = 15 * time.Minute // per event
)

// MemoryOption configures [NewMemoryBroker].
type MemoryOption func(*MemoryBroker)

// WithRetention bounds what the broker keeps for replay on each topic: at
// most events events, none older than age. Zero keeps the default for that
// bound. It panics on a negative value.
func WithRetention(events int, age time.Duration) MemoryOption {
	if events < 0 || age < 0 {
		panic("server: WithRetention: negative retention")
	}
	return func(b *MemoryBroker) {
		if events > 0 {
			b.maxEvents = events
		}
		if age > 0 {
			b.maxAge = age
		}
	}
}

// MemoryBroker is the in-process [Broker]: fan-out, IDs and replay for one
// server instance. Its epoch is new in every process, so IDs from before a
// restart get a reset. Publishing costs O(1) allocations whatever the number
// of subscribers: the frame is built once and the same bytes are queued for
// every subscriber.
type MemoryBroker struct {
	epoch     string
	maxEvents int
	maxAge    time.Duration
	now       func() time.Time

	mu     sync.Mutex
	seq    uint64
	topics map[string]*memTopic
	lost   uint64 // highest seq dropped with a topic that was removed
	closed bool

	published atomic.Uint64
}

type memTopic struct {
	log  []memEntry // oldest first
	lost uint64     // highest seq trimmed from log
	subs map[*memSub]struct{}
}

type memEntry struct {
	seq   uint64
	at    int64 // unix nanoseconds
	frame []byte
}

// NewMemoryBroker returns an in-memory broker. With no options it retains
// [DefaultRetainEvents] per topic for at most [DefaultRetainAge].
func NewMemoryBroker(opts ...MemoryOption) *MemoryBroker {
	b := &MemoryBroker{
		epoch:     NewEpoch(),
		maxEvents: DefaultRetainEvents,
		maxAge:    DefaultRetainAge,
		now:       time.Now,
		topics:    make(map[string]*memTopic),
	}
	for _, opt := range opts {
		opt(b)
	}
	return b
}

// Epoch returns the broker's epoch, the first part of every ID it assigns.
func (b *MemoryBroker) Epoch() string { return b.epoch }

// Published returns the number of events published so far.
func (b *MemoryBroker) Published() uint64 { return b.published.Load() }

// Publish implements [Broker].
func (b *MemoryBroker) Publish(ctx context.Context, topic string, frame []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := checkPublish(topic, frame); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", ErrBrokerClosed
	}
	b.seq++
	id := EventID{Epoch: b.epoch, Seq: b.seq}
	f := make([]byte, 0, len("id: \n")+len(b.epoch)+21+len(frame))
	f = append(f, "id: "...)
	f, _ = id.AppendText(f)
	f = append(f, '\n')
	f = append(f, frame...)

	t := b.topic(topic)
	now := b.now().UnixNano()
	t.log = append(t.log, memEntry{seq: b.seq, at: now, frame: f})
	b.trim(t, now)
	for s := range t.subs {
		if !s.q.Push(f) {
			b.unsubscribe(s)
		}
	}
	b.published.Add(1)
	return string(f[len("id: ") : len(f)-len(frame)-1]), nil
}

// checkPublish checks a publish's arguments.
func checkPublish(topic string, frame []byte) error {
	if topic == "" {
		return errors.New("server: publish: empty topic")
	}
	return CheckFrame(frame)
}

// CheckFrame reports whether frame is what [Broker.Publish] takes: exactly
// one event, ending with a blank line, with no id field (the broker adds
// its own). Broker implementations call it so that a malformed frame is an
// error to its publisher rather than a broken stream for every subscriber.
func CheckFrame(frame []byte) error {
	switch {
	case len(frame) < 2 || frame[len(frame)-1] != '\n' || frame[len(frame)-2] != '\n':
		return errors.New("server: publish: frame does not end with a blank line")
	case bytes.HasPrefix(frame, []byte("id:")) || bytes.Contains(frame[:len(frame)-1], []byte("\n\n")):
		return errors.New("server: publish: frame has an id field or more than one event")
	}
	return nil
}

// topic returns the topic's state, creating it. Call with b.mu held.
func (b *MemoryBroker) topic(name string) *memTopic {
	t := b.topics[name]
	if t == nil {
		t = &memTopic{subs: make(map[*memSub]struct{})}
		b.topics[name] = t
	}
	return t
}

// trim drops what retention no longer covers. Call with b.mu held.
func (b *MemoryBroker) trim(t *memTopic, now int64) {
	n := max(len(t.log)-b.maxEvents, 0)
	cutoff := now - int64(b.maxAge)
	for n < len(t.log) && t.log[n].at < cutoff {
		n++
	}
	if n == 0 {
		return
	}
	t.lost = t.log[n-1].seq
	clear(t.log[:n]) // release the frames
	t.log = t.log[n:]
}

// Subscribe implements [Broker].
func (b *MemoryBroker) Subscribe(ctx context.Context, req SubscribeRequest) (Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req.Topics) == 0 {
		return nil, errors.New("server: subscribe: no topics")
	}
	s := &memSub{b: b, q: NewQueue(req.Limits), topics: slices.Clone(req.Topics)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrBrokerClosed
	}
	now := b.now().UnixNano()
	var after uint64
	reset := req.ResetReason
	if reset == "" && req.LastEventID != "" {
		after, reset = b.position(req.LastEventID, s.topics, now)
	}
	if reset != "" {
		s.reset = reset
		s.q.Preload(AppendResetFrame(nil, EventID{Epoch: b.epoch, Seq: b.seq}.String(), reset))
	} else if req.LastEventID != "" {
		replay := b.replay(s.topics, after)
		s.replayed = len(replay)
		s.q.Preload(replay...)
	}
	for _, name := range s.topics {
		b.topic(name).subs[s] = struct{}{}
	}
	return s, nil
}

// position parses a Last-Event-ID and decides whether the topics can resume
// after it. Call with b.mu held.
func (b *MemoryBroker) position(lastID string, topics []string, now int64) (after uint64, reset string) {
	id, err := ParseEventID(lastID)
	switch {
	case err != nil:
		return 0, schema.ResetMalformed
	case id.Epoch != b.epoch:
		return 0, schema.ResetEpoch
	case id.Seq > b.seq:
		return 0, schema.ResetUnknown
	case id.Seq < b.lost:
		return 0, schema.ResetExpired
	}
	for _, name := range topics {
		if t := b.topics[name]; t != nil {
			b.trim(t, now)
			if id.Seq < t.lost {
				return 0, schema.ResetExpired
			}
		}
	}
	return id.Seq, ""
}

// replay returns the retained frames after seq on topics, in seq order. Call
// with b.mu held.
func (b *MemoryBroker) replay(topics []string, after uint64) [][]byte {
	var entries []memEntry
	for _, name := range topics {
		t := b.topics[name]
		if t == nil {
			continue
		}
		i, _ := slices.BinarySearchFunc(t.log, after+1, func(e memEntry, seq uint64) int {
			return cmpUint64(e.seq, seq)
		})
		entries = append(entries, t.log[i:]...)
	}
	if len(topics) > 1 {
		slices.SortFunc(entries, func(a, b memEntry) int { return cmpUint64(a.seq, b.seq) })
	}
	frames := make([][]byte, len(entries))
	for i, e := range entries {
		frames[i] = e.frame
	}
	return frames
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// unsubscribe removes s from its topics and drops topics left with neither
// subscribers nor history. Call with b.mu held.
func (b *MemoryBroker) unsubscribe(s *memSub) {
	for _, name := range s.topics {
		t := b.topics[name]
		if t == nil {
			continue
		}
		delete(t.subs, s)
		if len(t.subs) == 0 && len(t.log) == 0 {
			b.lost = max(b.lost, t.lost)
			delete(b.topics, name)
		}
	}
}

// Close implements [Broker].
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, t := range b.topics {
		for s := range t.subs {
			s.q.End(ErrBrokerClosed)
		}
	}
	clear(b.topics)
	return nil
}

type memSub struct {
	b        *MemoryBroker
	q        *Queue
	topics   []string
	replayed int
	reset    string
	once     sync.Once
}

func (s *memSub) Ready() <-chan struct{}               { return s.q.Ready() }
func (s *memSub) Fetch(dst [][]byte) ([][]byte, error) { return s.q.Fetch(dst) }
func (s *memSub) Replayed() int                        { return s.replayed }
func (s *memSub) Reset() string                        { return s.reset }
func (s *memSub) Close() {
	s.once.Do(func() {
		s.b.mu.Lock()
		s.b.unsubscribe(s)
		s.b.mu.Unlock()
		s.q.End(ErrBrokerClosed)
	})
}
