package server

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The memory broker's fan-out. Publish stores the event and hands it to the
// broker's partitions, a constant amount of work whatever the number of
// subscribers: every subscription belongs to one partition, and each
// partition's goroutine pushes the events, in sequence order, to its own
// subscriptions. Partitions, one per core, spread the pushes over every
// core, and an event published to many subscribers never makes its
// publisher wait for them.
//
// A partition's pending events are bounded (fanPending): a publisher that
// finds them full pushes them itself, so that memory stays bounded when
// publishers outrun the pushes, and it then pays for the pushes it asked
// for, as it would without the partitions.

// fanPending bounds the events waiting in one partition.
const fanPending = 4096

// fanIdle is how long a partition's goroutine waits for work before it
// ends; the next publish starts it again.
const fanIdle = time.Second

type partition struct {
	b *MemoryBroker
	i int // its index in b.parts

	// smu guards the subscriptions of the partition (memTopic.parts) and
	// is held while they are pushed to.
	smu sync.Mutex

	// rmu guards the pending events and the goroutine's state.
	rmu     sync.Mutex
	pending []fanEvent
	spare   []fanEvent // a batch's array, for the next
	running bool
	wake    chan struct{}
	closed  bool
}

type fanEvent struct {
	t *memTopic
	f Frame
}

func newPartitions(b *MemoryBroker) []*partition {
	parts := make([]*partition, max(runtime.GOMAXPROCS(0), 1))
	for i := range parts {
		parts[i] = &partition{b: b, i: i, wake: make(chan struct{}, 1)}
	}
	return parts
}

// partition returns the partition of a new subscription.
func (b *MemoryBroker) partition() (int, *partition) {
	i := int(b.nextPart.Add(1)) % len(b.parts)
	return i, b.parts[i]
}

// fanInline is the most subscriptions of a topic in one partition that
// a publisher pushes to itself, when the partition has nothing pending:
// a handful of pushes cost less than handing them over.
const fanInline = 16

// fanOut hands the event to every partition with subscriptions of t. Call
// with b.mu held, so that partitions get events in sequence order.
func (b *MemoryBroker) fanOut(t *memTopic, f Frame) {
	for i, p := range b.parts {
		if n := t.parts[i].n.Load(); n > 0 && (n > fanInline || !p.inline(fanEvent{t, f})) {
			p.add(fanEvent{t, f})
		}
	}
}

// inline pushes e on the publisher's goroutine, if the partition has
// nothing pending and its goroutine is not pushing, and reports whether it
// did. Call with b.mu held.
func (p *partition) inline(e fanEvent) bool {
	p.rmu.Lock()
	idle := len(p.pending) == 0
	p.rmu.Unlock()
	if !idle || !p.smu.TryLock() {
		return false
	}
	defer p.smu.Unlock()
	p.push(e)
	return true
}

func (p *partition) add(e fanEvent) {
	p.rmu.Lock()
	for len(p.pending) >= fanPending {
		// The goroutine is behind: catch up here, in order, then queue.
		p.rmu.Unlock()
		p.flush()
		p.rmu.Lock()
	}
	p.pending = append(p.pending, e)
	start := !p.running && !p.closed
	if start {
		p.running = true
	}
	p.rmu.Unlock()
	if start {
		go p.run()
	} else {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// run pushes pending events until there are none for fanIdle.
func (p *partition) run() {
	idle := time.NewTimer(fanIdle)
	defer idle.Stop()
	for {
		if p.flush() {
			continue
		}
		idle.Reset(fanIdle)
		select {
		case <-p.wake:
		case <-idle.C:
			p.rmu.Lock()
			if len(p.pending) == 0 || p.closed {
				p.running = false
				p.rmu.Unlock()
				return
			}
			p.rmu.Unlock()
		}
	}
}

// fanBatch bounds the events pushed under one hold of smu, which a new
// subscription waits for.
const fanBatch = 64

// flush pushes pending events to the partition's subscriptions, up to
// fanBatch of them, and reports whether there were any.
func (p *partition) flush() bool {
	p.smu.Lock()
	defer p.smu.Unlock()
	p.rmu.Lock()
	n := min(len(p.pending), fanBatch)
	batch := p.take(n)
	p.rmu.Unlock()
	if len(batch) == 0 {
		return false
	}
	for _, e := range batch {
		p.push(e)
	}
	clear(batch)
	p.rmu.Lock()
	p.spare = batch[:0]
	p.rmu.Unlock()
	return true
}

// push pushes e to the partition's subscriptions of its topic. Call with
// p.smu held.
func (p *partition) push(e fanEvent) {
	tp := &e.t.parts[p.i]
	for j := 0; j < len(tp.subs); j++ {
		s := tp.subs[j]
		if e.f.Seq <= s.pos {
			continue // published before it subscribed
		}
		if !s.Push(e.f) {
			p.remove(s) // its queue overflowed: it has ended; the last took its place
			j--
		}
	}
}

// drain pushes every pending event. Call with b.mu held.
func (p *partition) drain() {
	for p.flush() {
	}
}

// take removes the first n pending events and returns them. Call with
// p.rmu held.
func (p *partition) take(n int) []fanEvent {
	if n == 0 {
		return nil
	}
	batch := append(p.spare[:0], p.pending[:n]...)
	p.spare = nil
	rest := copy(p.pending, p.pending[n:])
	clear(p.pending[rest:])
	p.pending = p.pending[:rest]
	return batch
}

// insert adds s to its topics in the partition. Call with p.smu held.
func (p *partition) insert(s *memSub, topics []*memTopic) {
	s.slots = make([]int, len(topics))
	for k, t := range topics {
		tp := &t.parts[s.part]
		s.slots[k] = len(tp.subs)
		tp.subs = append(tp.subs, s)
		tp.n.Add(1)
	}
	s.in = topics
}

// remove takes s out of its topics in the partition, once. Call with
// p.smu held.
func (p *partition) remove(s *memSub) {
	if s.in == nil {
		return
	}
	for k, t := range s.in {
		tp := &t.parts[s.part]
		last := len(tp.subs) - 1
		moved := tp.subs[last]
		tp.subs[s.slots[k]] = moved
		for mk, mt := range moved.in { // the moved one's slot in this topic
			if mt == t {
				moved.slots[mk] = s.slots[k]
			}
		}
		tp.subs[last] = nil
		tp.subs = tp.subs[:last]
		tp.n.Add(-1)
	}
	s.in, s.slots = nil, nil
}

// topicPart is a topic's subscriptions in one partition.
type topicPart struct {
	subs []*memSub
	n    atomic.Int32 // len(subs), for publishers, which do not take smu
}

func (p *partition) close() {
	p.rmu.Lock()
	p.closed = true
	p.pending = nil
	p.rmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
