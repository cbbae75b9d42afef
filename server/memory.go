package server

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
// bound. A negative value makes NewMemoryBroker panic.
func WithRetention(events int, age time.Duration) MemoryOption {
	return func(b *MemoryBroker) {
		if events < 0 || age < 0 {
			b.errs = append(b.errs, fmt.Sprintf("WithRetention(%d, %v): negative retention", events, age))
		}
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
//
// Events leave the broker when a topic holds more than its retention count,
// and when they are older than the retention age, whether or not the topic
// is published to again; a topic left with no event and no subscriber is
// forgotten.
type MemoryBroker struct {
	epoch     string
	maxEvents int
	maxAge    time.Duration
	start     time.Time // entries' times are offsets from it: monotonic

	mu      sync.Mutex
	seq     uint64
	topics  map[string]*memTopic
	byAge   ageHeap     // topics with events, oldest first event first
	sweeper *time.Timer // frees expired events while nothing else happens
	sweepAt int64       // when sweeper fires, 0 when it is not armed
	lost    uint64      // highest seq dropped with a topic that was forgotten
	closed  bool

	published atomic.Uint64
	errs      []string // invalid options, for NewMemoryBroker

	parts    []*partition // the fan-out (see memory_fanout.go)
	nextPart atomic.Uint32
}

type memTopic struct {
	name  string
	log   ring        // retained events, oldest first
	lost  uint64      // highest seq trimmed from log
	parts []topicPart // its subscriptions, by partition
	hidx  int         // index in MemoryBroker.byAge, -1 when log is empty
}

// hasSubs reports whether the topic has subscriptions.
func (t *memTopic) hasSubs() bool {
	for i := range t.parts {
		if t.parts[i].n.Load() > 0 {
			return true
		}
	}
	return false
}

type memEntry struct {
	at    int64 // nanoseconds since MemoryBroker.start
	frame Frame
}

// NewMemoryBroker returns an in-memory broker. With no options it retains
// [DefaultRetainEvents] per topic for at most [DefaultRetainAge]. It panics,
// naming the option, when an option is invalid.
func NewMemoryBroker(opts ...MemoryOption) *MemoryBroker {
	b := &MemoryBroker{
		epoch:     NewEpoch(),
		maxEvents: DefaultRetainEvents,
		maxAge:    DefaultRetainAge,
		start:     time.Now(),
		topics:    make(map[string]*memTopic),
	}
	b.parts = newPartitions(b)
	for _, opt := range opts {
		opt(b)
	}
	if len(b.errs) > 0 {
		panic("server: NewMemoryBroker: " + strings.Join(b.errs, "; "))
	}
	return b
}

// Epoch implements [Broker].
func (b *MemoryBroker) Epoch() string { return b.epoch }

// Published implements [PublishCounter]: the events published so far.
func (b *MemoryBroker) Published() uint64 { return b.published.Load() }

func (b *MemoryBroker) clock() int64 { return int64(time.Since(b.start)) }

// Publish implements [Broker].
func (b *MemoryBroker) Publish(ctx context.Context, topic string, m *Message) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if topic == "" {
		return 0, errors.New("server: publish: empty topic")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, ErrBrokerClosed
	}
	b.seq++
	f := m.Frame(b.epoch, b.seq)
	now := b.clock()
	b.sweep(now)
	t := b.topic(topic)
	t.log.push(memEntry{at: now, frame: f})
	if t.hidx < 0 {
		heap.Push(&b.byAge, t)
	} else if t.log.len() > b.maxEvents {
		t.lost = t.log.pop().frame.Seq
		heap.Fix(&b.byAge, t.hidx)
	}
	b.arm(now)
	b.fanOut(t, f)
	b.published.Add(1)
	return b.seq, nil
}

// topic returns the topic's state, creating it. Call with b.mu held.
func (b *MemoryBroker) topic(name string) *memTopic {
	t := b.topics[name]
	if t == nil {
		t = &memTopic{name: name, parts: make([]topicPart, len(b.parts)), hidx: -1}
		b.topics[name] = t
	}
	return t
}

// sweep drops the events older than the retention age at now, on every
// topic, and forgets topics left with neither events nor subscribers. Each
// event is looked at once, when it expires. Call with b.mu held.
func (b *MemoryBroker) sweep(now int64) {
	cutoff := now - int64(b.maxAge)
	for len(b.byAge) > 0 && b.byAge[0].log.front().at < cutoff {
		t := b.byAge[0]
		for t.log.len() > 0 && t.log.front().at < cutoff {
			t.lost = t.log.pop().frame.Seq
		}
		if t.log.len() > 0 {
			heap.Fix(&b.byAge, 0)
			continue
		}
		heap.Pop(&b.byAge)
		t.log = ring{} // an emptied topic keeps no buffer
		if !t.hasSubs() {
			b.forget(t)
		}
	}
}

// forget drops a topic with neither events nor subscribers. Call with b.mu
// held.
func (b *MemoryBroker) forget(t *memTopic) {
	b.lost = max(b.lost, t.lost)
	delete(b.topics, t.name)
}

// arm makes sure the sweeper will run once the oldest event expires, a
// little later rather than once per event. Call with b.mu held.
func (b *MemoryBroker) arm(now int64) {
	if b.sweepAt != 0 || len(b.byAge) == 0 || b.closed {
		return
	}
	at := b.byAge[0].log.front().at + int64(b.maxAge)
	at = max(at, now+int64(max(b.maxAge/64, time.Millisecond)))
	b.sweepAt = at
	d := time.Duration(at - now)
	if b.sweeper == nil {
		b.sweeper = time.AfterFunc(d, b.sweepTimer)
	} else {
		b.sweeper.Reset(d)
	}
}

func (b *MemoryBroker) sweepTimer() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	now := b.clock()
	b.sweepAt = 0
	b.sweep(now)
	b.arm(now)
}

// Subscribe implements [Broker].
func (b *MemoryBroker) Subscribe(ctx context.Context, req SubscribeRequest) (Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req.Topics) == 0 {
		return nil, errors.New("server: subscribe: no topics")
	}
	s := &memSub{topics: slices.Clone(req.Topics)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrBrokerClosed
	}
	s.QueueSubscription = QueueSubscription{Queue: req.Queue, pos: b.seq}
	if s.Queue == nil {
		s.Queue = NewQueue(req.Limits)
	}
	s.onClose = func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.unsubscribe(s)
	}
	topics := make([]*memTopic, len(s.topics))
	for i, name := range s.topics {
		topics[i] = b.topic(name)
	}
	var p *partition
	s.part, p = b.partition()
	p.smu.Lock()
	p.insert(s, topics)
	p.smu.Unlock()
	return s, nil
}

// Replay implements [Broker].
func (b *MemoryBroker) Replay(ctx context.Context, topics []string, after uint64) (Cursor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrBrokerClosed
	}
	if after > b.seq {
		return nil, ErrUnknownPosition
	}
	c := &memCursor{b: b, topics: slices.Clone(topics), after: after}
	if err := c.check(b.clock()); err != nil {
		return nil, err
	}
	return c, nil
}

// unsubscribe removes s from its topics and forgets topics left with
// neither subscribers nor events. Call with b.mu held.
func (b *MemoryBroker) unsubscribe(s *memSub) {
	p := b.parts[s.part]
	p.smu.Lock()
	p.remove(s)
	p.smu.Unlock()
	for _, name := range s.topics {
		if t := b.topics[name]; t != nil && !t.hasSubs() && t.log.len() == 0 {
			b.forget(t)
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
	if b.sweeper != nil {
		b.sweeper.Stop()
	}
	for _, p := range b.parts {
		p.drain() // what was published before Close reaches its subscribers
		p.close()
		p.smu.Lock()
		for _, t := range b.topics {
			for _, s := range t.parts[p.i].subs {
				s.End(ErrBrokerClosed)
			}
		}
		p.smu.Unlock()
	}
	clear(b.topics)
	b.byAge = nil
	return nil
}

type memSub struct {
	QueueSubscription // in the same object: a push reads it
	topics            []string
	part              int         // its partition
	in                []*memTopic // its topics, while it is in the partition
	slots             []int       // its index in each topic's partition list
}

// memCursor reads the retained events of its topics after a sequence
// number, from the topics' logs, under the broker's lock.
type memCursor struct {
	b      *MemoryBroker
	topics []string
	after  uint64
	idx    []int // per topic: the first log index with a seq above after
}

// check returns ErrExpired when an event on one of the topics after c.after
// is no longer retained. Call with b.mu held.
func (c *memCursor) check(now int64) error {
	c.b.sweep(now)
	for _, name := range c.topics {
		if t := c.b.topics[name]; t != nil {
			if c.after < t.lost {
				return ErrExpired
			}
		} else if c.after < c.b.lost {
			return ErrExpired // a forgotten topic may have held some
		}
	}
	return nil
}

// Next implements [Cursor].
func (c *memCursor) Next(ctx context.Context, dst []Frame, maxBytes int) ([]Frame, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return dst, ErrBrokerClosed
	}
	if err := c.check(b.clock()); err != nil {
		return dst, err
	}
	logs := make([]*ring, 0, len(c.topics))
	c.idx = c.idx[:0]
	for _, name := range c.topics {
		if t := b.topics[name]; t != nil && t.log.len() > 0 {
			logs = append(logs, &t.log)
			c.idx = append(c.idx, t.log.search(c.after+1))
		}
	}
	for n := 0; n < maxBytes; {
		// The next event is the lowest seq at the topics' positions.
		k := -1
		for i, l := range logs {
			if c.idx[i] < l.len() && (k < 0 || l.at(c.idx[i]).frame.Seq < logs[k].at(c.idx[k]).frame.Seq) {
				k = i
			}
		}
		if k < 0 {
			break
		}
		f := logs[k].at(c.idx[k]).frame
		c.idx[k]++
		dst = append(dst, f)
		n += len(f.Bytes)
		c.after = f.Seq
	}
	return dst, nil
}

// Close implements [Cursor].
func (c *memCursor) Close() {}

// ring is a topic's log: a queue of entries in a circular buffer, so that
// trimming the front never copies.
type ring struct {
	buf  []memEntry
	head int
	n    int
}

func (r *ring) len() int { return r.n }

func (r *ring) at(i int) *memEntry { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *ring) front() *memEntry { return r.at(0) }

func (r *ring) push(e memEntry) {
	if r.n == len(r.buf) {
		buf := make([]memEntry, max(8, 2*len(r.buf)))
		for i := range r.n {
			buf[i] = *r.at(i)
		}
		r.buf, r.head = buf, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = e
	r.n++
}

func (r *ring) pop() memEntry {
	e := *r.front()
	*r.front() = memEntry{} // release the frame
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return e
}

// search returns the index of the first entry whose seq is at least seq.
func (r *ring) search(seq uint64) int {
	lo, hi := 0, r.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.at(m).frame.Seq < seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// ageHeap orders topics by the time of their oldest event, for the sweep.
type ageHeap []*memTopic

func (h ageHeap) Len() int           { return len(h) }
func (h ageHeap) Less(i, j int) bool { return h[i].log.front().at < h[j].log.front().at }
func (h ageHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *ageHeap) Push(x any) {
	t := x.(*memTopic)
	t.hidx = len(*h)
	*h = append(*h, t)
}
func (h *ageHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.hidx = -1
	return t
}
