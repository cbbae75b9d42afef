package client

import (
	"context"
	"iter"
	"sync"

	"github.com/ssekit/ssekit/shared/schema"
)

// Events returns the events named ev.Name() as a sequence for a range
// loop: [On] for a loop, whose body runs on the goroutine of the loop
// rather than on the dispatcher's.
//
// Each loop registers its own handler when it starts and removes it when it
// ends: when the body breaks or returns, when ctx is done, when the
// dispatcher is closed, or, after the last value, when the stream has ended
// (see [Dispatcher.Ended]). On a break, a return, ctx and Close it ends at
// once, dropping what it had not yet yielded.
//
// The handler only queues the value for the loop, so a slow body does not
// hold up the dispatcher's other handlers, until the loop's queue is full
// (the dispatcher's [Limits]): then the handler waits for the body, and the
// dispatcher's queue fills in turn, which the transport feels as
// backpressure. Nothing is dropped while the loop runs. Data that does not
// decode goes to the error handlers, as with On.
//
// The sequence may be ranged over more than once, by several goroutines;
// each loop gets every event from its start.
func Events[T any](ctx context.Context, d *Dispatcher, ev schema.Event[T]) iter.Seq2[T, Meta] {
	if ev.Name() == "" {
		panic("client: Events with an event that has no name; define it with schema.Define")
	}
	return func(yield func(T, Meta) bool) {
		q := &loopQueue[T]{
			d:    d,
			more: make(chan struct{}, 1),
			room: make(chan struct{}, 1),
			left: make(chan struct{}),
		}
		off := onEvent(d, ev, q.put)
		defer off()
		defer close(q.left) // releases a handler waiting for room
		for {
			v, m, ok := q.take(ctx)
			if !ok || !yield(v, m) {
				return
			}
		}
	}
}

// loopQueue holds the values of one Events loop between its handler, on
// the dispatcher's goroutine, and the loop's body.
type loopQueue[T any] struct {
	d    *Dispatcher
	more chan struct{} // a token: a value was added
	room chan struct{} // a token: a value was taken
	left chan struct{} // closed when the loop ends

	mu    sync.Mutex
	items []loopItem[T]
	head  int
	bytes int
}

type loopItem[T any] struct {
	v    T
	m    Meta
	size int
}

// put queues a value, waiting while the queue is full.
func (q *loopQueue[T]) put(v T, m Meta, size int) {
	for {
		q.mu.Lock()
		if n := len(q.items) - q.head; q.d.limits.fits(n, q.bytes, size) {
			if q.head > 0 && 2*q.head >= len(q.items) { // reuse the taken half
				k := copy(q.items, q.items[q.head:])
				clear(q.items[k:])
				q.items, q.head = q.items[:k], 0
			}
			q.items = append(q.items, loopItem[T]{v, m, size})
			q.bytes += size
			q.mu.Unlock()
			token(q.more)
			return
		}
		q.mu.Unlock()
		select {
		case <-q.room:
		case <-q.left:
			return
		case <-q.d.done:
			return
		}
	}
}

// take returns the next value, waiting for one; ok is false when the loop
// must end.
func (q *loopQueue[T]) take(ctx context.Context) (v T, m Meta, ok bool) {
	for {
		select {
		case <-ctx.Done():
			return v, m, false
		case <-q.d.done:
			return v, m, false
		default:
		}
		q.mu.Lock()
		if q.head < len(q.items) {
			it := q.items[q.head]
			q.items[q.head] = loopItem[T]{}
			q.head++
			q.bytes -= it.size
			q.mu.Unlock()
			token(q.room)
			return it.v, it.m, true
		}
		q.mu.Unlock()
		select {
		case <-q.more:
		case <-ctx.Done():
			return v, m, false
		case <-q.d.done:
			return v, m, false
		case <-q.d.ended:
			// Everything delivered before the end is queued already.
			q.mu.Lock()
			empty := q.head == len(q.items)
			q.mu.Unlock()
			if empty {
				return v, m, false
			}
		}
	}
}

func token(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
