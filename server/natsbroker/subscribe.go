package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/server"
)

// replayTimeout bounds a replay when the caller's context has no deadline.
const replayTimeout = 30 * time.Second

// subscription is a [server.Subscription] fed by the broker's fan-out.
// The fields after q are guarded by the broker's mutex.
type subscription struct {
	*server.QueueSubscription
	subjects []string

	after      uint64 // sequences up to after are not delivered
	registered bool
	gen        uint64 // the connection's reconnections when it registered
}

// Subscribe implements [server.Broker]. The subscription is registered
// with the instance's fan-out at the later of the fan-out's position and
// this instance's last acknowledged publish, which is its Position: it
// gets what the fan-out delivers after that.
func (b *Broker) Subscribe(ctx context.Context, req server.SubscribeRequest) (server.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req.Topics) == 0 {
		return nil, errors.New("natsbroker: subscribe: no topics")
	}
	subjects, err := b.subjects(req.Topics)
	if err != nil {
		return nil, err
	}
	s := &subscription{subjects: subjects}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return nil, err
	}
	s.gen = b.nc.Stats().Reconnects
	s.after = max(b.pos, b.published.Load())
	s.QueueSubscription = server.NewQueueSubscription(req, s.after, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.unsubscribe(s)
	})
	b.register(s)
	return s, nil
}

// usable returns why the broker cannot serve, or nil. Call with b.mu held.
func (b *Broker) usable() error {
	switch {
	case b.stopped || b.closed.Load():
		return server.ErrBrokerClosed
	case b.failed != nil:
		return b.failed
	}
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("natsbroker: not connected to NATS (%v)", st)
	}
	return nil
}

// subjects returns the distinct subjects of topics.
func (b *Broker) subjects(topics []string) ([]string, error) {
	subjects := make([]string, 0, len(topics))
	for _, topic := range topics {
		subj, err := b.subject(topic)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(subjects, subj) {
			subjects = append(subjects, subj)
		}
	}
	return subjects, nil
}

// known returns the highest sequence this instance knows the stream holds.
func (b *Broker) known() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.pos, b.published.Load())
}

// register adds s to the fan-out. Call with b.mu held.
func (b *Broker) register(s *subscription) {
	s.registered = true
	for _, subj := range s.subjects {
		subs := b.subs[subj]
		if subs == nil {
			subs = make(map[*subscription]struct{})
			b.subs[subj] = subs
		}
		subs[s] = struct{}{}
	}
}

// Replay implements [server.Broker]. The cursor reads the stream through a
// short-lived ordered consumer filtered to the topics' subjects, deleted by
// Close. After each fetch from the stream it checks that nothing after the
// fetch's start was trimmed (see the package doc), and it counts the
// events of each subject since after: more than the window
// ([WithMaxMsgsPerSubject]) is ErrExpired, as on the memory broker. For one
// subject Replay knows that from the consumer's count at once; across
// several subjects the cursor finds it as it reads.
func (b *Broker) Replay(ctx context.Context, topics []string, after uint64) (server.Cursor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.closed.Load() {
		return nil, server.ErrBrokerClosed
	}
	subjects, err := b.subjects(topics)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withReplayTimeout(ctx)
	defer cancel()
	// A position past everything this instance knows of may still be in
	// the stream (published elsewhere, not yet here): ask the stream.
	if after > b.known() {
		info, err := b.stream.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("natsbroker: replay: %w", err)
		}
		if after > info.State.LastSeq {
			return nil, server.ErrUnknownPosition
		}
	}
	if err := b.checkTrimmed(ctx, subjects, after); err != nil {
		return nil, err
	}
	cons, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    subjects,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		InactiveThreshold: time.Minute, // a backstop: Close deletes it
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: replay: %w", err)
	}
	info := cons.CachedInfo()
	c := &cursor{b: b, subjects: subjects, read: after, cons: cons, name: info.Name, pending: info.NumPending, count: make(map[string]int, len(subjects))}
	if len(subjects) == 1 && info.NumPending > uint64(b.window) {
		c.Close()
		return nil, server.ErrExpired
	}
	return c, nil
}

func withReplayTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, replayTimeout)
}

// cursor is a [server.Cursor] on the stream.
type cursor struct {
	b        *Broker
	subjects []string
	cons     jetstream.Consumer
	name     string
	read     uint64         // the last sequence fetched from the stream
	pending  uint64         // messages after it, when it was delivered
	buf      []server.Frame // fetched, not yet returned
	count    map[string]int // events fetched per subject
}

// replayBatch bounds the messages of one fetch from the stream, and so what
// a cursor holds beyond the page it returns.
const replayBatch = 256

// Next implements [server.Cursor].
func (c *cursor) Next(ctx context.Context, dst []server.Frame, maxBytes int) ([]server.Frame, error) {
	if c.b.closed.Load() {
		return dst, server.ErrBrokerClosed
	}
	ctx, cancel := withReplayTimeout(ctx)
	defer cancel()
	start := len(dst)
	for bytes := 0; bytes < maxBytes; {
		if len(c.buf) == 0 {
			if c.pending == 0 && len(dst) > start {
				break // return what there is before asking the stream again
			}
			if err := c.fetch(ctx); err != nil {
				return dst[:start], err
			}
			if len(c.buf) == 0 {
				break // caught up
			}
		}
		f := c.buf[0]
		c.buf[0] = server.Frame{}
		c.buf = c.buf[1:]
		dst = append(dst, f)
		bytes += len(f.Bytes)
	}
	return dst, nil
}

// fetch reads the next batch of the stream into c.buf, or nothing when the
// stream holds nothing after c.read.
func (c *cursor) fetch(ctx context.Context) error {
	if c.pending == 0 {
		// Caught up when last read; the stream may have grown since.
		info, err := c.cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("natsbroker: replay: %w", err)
		}
		if c.pending = info.NumPending; c.pending == 0 {
			return nil
		}
	}
	start := c.read
	batch, err := c.cons.Fetch(int(min(c.pending, replayBatch)), jetstream.FetchMaxWait(replayFetchWait))
	if err != nil {
		return fmt.Errorf("natsbroker: replay: %w", err)
	}
	for msg := range batch.Messages() {
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("natsbroker: replay: %w", err)
		}
		seq := meta.Sequence.Stream
		c.pending = meta.NumPending
		if c.count[msg.Subject()]++; c.count[msg.Subject()] > c.b.window {
			return server.ErrExpired
		}
		c.read = seq
		f, err := server.NewFrame(c.b.epoch, seq, msg.Data())
		if err != nil {
			continue // not an event server.Publish made, as the fan-out skips it
		}
		c.buf = append(c.buf, f)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return fmt.Errorf("natsbroker: replay: %w", err)
	}
	// Removal is permanent: if nothing after start is missing now, nothing
	// was missing when the batch was read.
	if err := c.b.checkTrimmed(ctx, c.subjects, start); err != nil {
		return err
	}
	if len(c.buf) == 0 {
		// Counted as pending, not trimmed, yet not delivered.
		return errors.New("natsbroker: replay: the stream delivered nothing of what it holds")
	}
	return nil
}

// replayFetchWait bounds how long one fetch of a replay waits for messages
// the consumer counts as pending.
const replayFetchWait = 5 * time.Second

// Close implements [server.Cursor].
func (c *cursor) Close() {
	if c.name != "" {
		c.b.deleteConsumer(c.name)
		c.name = ""
	}
	c.buf = nil
}

// deleteConsumer deletes a replay consumer without making Subscribe wait
// (unless the broker is closed). Should it fail, the consumer's
// InactiveThreshold removes it.
func (b *Broker) deleteConsumer(name string) {
	del := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.stream.DeleteConsumer(ctx, name)
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		del()
		return
	}
	b.cleanup.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.cleanup.Done()
		del()
	}()
}

// checkTrimmed returns server.ErrExpired when an event on one of subjects with a
// sequence after from may have been removed from the stream. Called after
// the replay read the stream, it makes the replay safe: removal is
// permanent, so if nothing after from is missing now, nothing was missing
// when the replay read it.
//
// Within one subject, JetStream removes the oldest messages first (by age,
// by count per subject, or by the stream's own size limits). So:
//
//   - Removal by age or stream size takes a prefix of the whole stream:
//     when the stream's first sequence is at most from+1, none of it lies
//     after from. When it is higher, JetStream does not tell which
//     subjects the removed messages were on, and the check says expired.
//   - Removal by count on subject t leaves t full (MaxMsgsPerSubject
//     messages, all newer than the removed one). So t lost something after
//     from only if t is full and its first stored message is after from.
//
// Both rules can report expired for an ID that lost nothing, never the
// other way round. Checking that the message at from itself still exists
// (GetMsg) would not do: the per-subject count of another topic may have
// trimmed that topic's messages after from while the message at from,
// or the reset position it names, is on a subject that is not trimmed.
func (b *Broker) checkTrimmed(ctx context.Context, subjects []string, from uint64) error {
	if b.perSubj <= 0 && !b.prefix {
		return nil
	}
	if b.perSubj <= 0 {
		info, err := b.stream.Info(ctx)
		if err != nil {
			return fmt.Errorf("natsbroker: subscribe: %w", err)
		}
		if info.State.FirstSeq > from+1 {
			return server.ErrExpired
		}
		return nil
	}
	for i, subj := range subjects {
		info, err := b.stream.Info(ctx, jetstream.WithSubjectFilter(subj))
		if err != nil {
			return fmt.Errorf("natsbroker: subscribe: %w", err)
		}
		if i == 0 && b.prefix && info.State.FirstSeq > from+1 {
			return server.ErrExpired
		}
		if int64(info.State.Subjects[subj]) < b.perSubj {
			continue
		}
		first, err := b.stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subj))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			continue // trimmed to nothing since: only by age, checked above
		case err != nil:
			return fmt.Errorf("natsbroker: subscribe: %w", err)
		case first.Sequence > from:
			return server.ErrExpired
		}
	}
	return nil
}
