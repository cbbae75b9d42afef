package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/brokertest"
)

// sliceBroker is a complete Broker, small enough to read in one screen: the
// events in one slice, at most retain per topic, and a scan of the
// subscribers at each publish. A broker on Redis Streams or Postgres has
// the same parts: Publish stores the message's Body under the next
// sequence number (XADD, or an INSERT with a sequence), Replay reads what
// follows a position (XRANGE, or SELECT ... WHERE seq > $1 ORDER BY seq)
// and frames it with server.NewFrame, and a subscription is fed by what the
// engine notifies (XREAD BLOCK, LISTEN/NOTIFY).
type sliceBroker struct {
	retain int
	epoch  string

	mu     sync.Mutex
	seq    uint64
	events []stored          // oldest first
	lost   map[string]uint64 // per topic, the last sequence trimmed
	subs   map[*sliceSub]bool
	closed bool
}

type stored struct {
	topic string
	frame server.Frame
}

type sliceSub struct {
	*server.QueueSubscription
	topics []string
}

func newSliceBroker(retain int) *sliceBroker {
	return &sliceBroker{retain: retain, epoch: server.NewEpoch(), lost: map[string]uint64{}, subs: map[*sliceSub]bool{}}
}

func (b *sliceBroker) Epoch() string { return b.epoch }

func (b *sliceBroker) Publish(ctx context.Context, topic string, m *server.Message) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, server.ErrBrokerClosed
	}
	b.seq++
	f := m.Frame(b.epoch, b.seq) // the bytes every subscriber and replay gets
	b.events = append(b.events, stored{topic, f})
	if b.count(topic) > b.retain { // trim the topic's oldest
		i := slices.IndexFunc(b.events, func(e stored) bool { return e.topic == topic })
		b.lost[topic] = b.events[i].frame.Seq
		b.events = slices.Delete(b.events, i, i+1)
	}
	for s := range b.subs {
		if slices.Contains(s.topics, topic) && !s.Push(f) {
			delete(b.subs, s) // its queue overflowed: it has ended
		}
	}
	return b.seq, nil
}

func (b *sliceBroker) count(topic string) (n int) {
	for _, e := range b.events {
		if e.topic == topic {
			n++
		}
	}
	return n
}

func (b *sliceBroker) Subscribe(ctx context.Context, req server.SubscribeRequest) (server.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, server.ErrBrokerClosed
	}
	s := &sliceSub{topics: req.Topics}
	s.QueueSubscription = server.NewQueueSubscription(req, b.seq, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, s)
	})
	b.subs[s] = true
	return s, nil
}

func (b *sliceBroker) Replay(ctx context.Context, topics []string, after uint64) (server.Cursor, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, server.ErrBrokerClosed
	case after > b.seq:
		return nil, server.ErrUnknownPosition
	}
	c := &sliceCursor{b: b, topics: topics, after: after}
	return c, c.expired()
}

type sliceCursor struct {
	b      *sliceBroker
	topics []string
	after  uint64
}

// expired reports whether an event after the cursor was trimmed. Call with
// b.mu held.
func (c *sliceCursor) expired() error {
	for _, t := range c.topics {
		if c.after < c.b.lost[t] {
			return server.ErrExpired
		}
	}
	return nil
}

func (c *sliceCursor) Next(ctx context.Context, dst []server.Frame, maxBytes int) ([]server.Frame, error) {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.b.closed {
		return dst, server.ErrBrokerClosed
	}
	if err := c.expired(); err != nil {
		return dst, err
	}
	for n, i := 0, 0; i < len(c.b.events) && n < maxBytes; i++ {
		if e := c.b.events[i]; e.frame.Seq > c.after && slices.Contains(c.topics, e.topic) {
			dst, n, c.after = append(dst, e.frame), n+len(e.frame.Bytes), e.frame.Seq
		}
	}
	return dst, nil
}

func (c *sliceCursor) Close() {}

func (b *sliceBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		for s := range b.subs {
			s.End(server.ErrBrokerClosed)
		}
	}
	return nil
}

// TestSliceBrokerContract checks the example broker with the contract's
// suite, as any implementation should.
func TestSliceBrokerContract(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, c brokertest.Config) server.Broker {
		return newSliceBroker(c.RetainEvents)
	})
}

// TestSliceBrokerServes streams from the example broker through a Server:
// replay and live events, as with the memory broker.
func TestSliceBrokerServes(t *testing.T) {
	t.Parallel()
	b := newSliceBroker(100)
	srv := server.New(b, server.WithLogger(quiet))
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	first, _ := server.Publish(context.Background(), b, "a", priceTick, Price{Cents: 1})
	server.Publish(context.Background(), b, "a", priceTick, Price{Cents: 2})
	s := connect(t, ts.URL+"/?topic=a", http.Header{"Last-Event-Id": {first}})
	if got := s.cents(); got != 2 {
		t.Fatalf("replayed %d; want 2", got)
	}
	server.Publish(context.Background(), b, "a", priceTick, Price{Cents: 3})
	if got := s.cents(); got != 3 {
		t.Fatalf("live %d; want 3", got)
	}
}
