package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
)

// replayTimeout bounds a replay when the caller's context has no deadline.
const replayTimeout = 30 * time.Second

// subscription is a [server.Subscription] fed by the broker's fan-out.
// The fields after q are guarded by the broker's mutex.
type subscription struct {
	b        *Broker
	q        *server.Queue
	subjects []string
	replayed int
	reset    string
	once     sync.Once

	after      uint64   // sequences up to after are not delivered
	live       bool     // false while Subscribe replays: the fan-out appends to pending
	pending    [][]byte // live frames that arrived during the replay, in order
	maxPending int
	registered bool
	gen        uint64 // the connection's reconnections when it registered
}

func (s *subscription) Ready() <-chan struct{}               { return s.q.Ready() }
func (s *subscription) Fetch(dst [][]byte) ([][]byte, error) { return s.q.Fetch(dst) }
func (s *subscription) Replayed() int                        { return s.replayed }
func (s *subscription) Reset() string                        { return s.reset }

func (s *subscription) Close() {
	s.once.Do(func() {
		s.b.mu.Lock()
		s.b.unsubscribe(s)
		s.pending = nil
		s.b.mu.Unlock()
		s.q.End(server.ErrBrokerClosed)
	})
}

// Subscribe implements [server.Broker].
//
// A subscription without a Last-Event-ID is registered with the fan-out at
// once and gets what is published after the position it registers at (the
// later of the fan-out's position and this instance's last acknowledged
// publish). A resuming subscription is registered first, in a buffering
// state, at position hi; Subscribe then replays (ID, hi] from the stream
// with a short-lived ordered consumer filtered to the subscription's
// subjects, checks that nothing in that range was trimmed (see the package
// doc), and queues the replay followed by the buffered live frames, which
// all lie after hi: no gap, no duplicate.
func (b *Broker) Subscribe(ctx context.Context, req server.SubscribeRequest) (server.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req.Topics) == 0 {
		return nil, errors.New("natsbroker: subscribe: no topics")
	}
	if b.closed.Load() {
		return nil, server.ErrBrokerClosed
	}
	subjects := make([]string, 0, len(req.Topics))
	for _, topic := range req.Topics {
		subj, err := b.subject(topic)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(subjects, subj) {
			subjects = append(subjects, subj)
		}
	}
	s := &subscription{
		b:          b,
		q:          server.NewQueue(req.Limits),
		subjects:   subjects,
		maxPending: req.Limits.Frames,
	}
	if s.maxPending <= 0 {
		s.maxPending = server.DefaultQueueFrames
	}

	reset := req.ResetReason
	var from uint64 // the ID's sequence
	if reset == "" && req.LastEventID != "" {
		id, err := server.ParseEventID(req.LastEventID)
		switch {
		case err != nil:
			reset = schema.ResetMalformed
		case id.Epoch != b.epoch:
			reset = schema.ResetEpoch
		}
		from = id.Seq
	}
	resume := reset == "" && req.LastEventID != ""

	// An ID past everything this instance knows of may still be in the
	// stream (published elsewhere, not yet here): ask the stream.
	var last uint64
	if resume && from > b.known() {
		info, err := b.stream.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("natsbroker: subscribe: %w", err)
		}
		last = info.State.LastSeq
		if from > last {
			reset, resume = schema.ResetUnknown, false
		}
	}

	b.mu.Lock()
	if b.stopped || b.closed.Load() {
		b.mu.Unlock()
		return nil, server.ErrBrokerClosed
	}
	if b.failed != nil {
		b.mu.Unlock()
		return nil, b.failed
	}
	if st := b.nc.Status(); st != nats.CONNECTED {
		b.mu.Unlock()
		return nil, fmt.Errorf("natsbroker: subscribe: not connected to NATS (%v)", st)
	}
	s.gen = b.nc.Stats().Reconnects
	hi := max(b.pos, b.published.Load(), last)
	s.after = max(hi, from)
	switch {
	case reset != "":
		s.after = hi
		s.reset = reset
		s.q.Preload(server.AppendResetFrame(nil, b.id(hi), reset))
		s.live = true
	case !resume || from >= hi:
		s.live = true // nothing to replay
	}
	b.register(s)
	b.mu.Unlock()
	if s.live {
		return s, nil
	}

	frames, err := b.replay(ctx, s.subjects, from, hi)
	if err == nil {
		err = b.checkTrimmed(ctx, s.subjects, from)
	}
	if err != nil && !errors.Is(err, errExpired) {
		s.Close()
		return nil, err
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if errors.Is(err, errExpired) {
		s.reset = schema.ResetExpired
		frames = [][]byte{server.AppendResetFrame(nil, b.id(hi), schema.ResetExpired)}
	} else {
		s.replayed = len(frames)
	}
	s.q.Preload(append(frames, s.pending...)...)
	s.pending = nil
	s.live = true
	return s, nil
}

// known returns the highest sequence this instance knows the stream holds.
func (b *Broker) known() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.pos, b.published.Load())
}

func (b *Broker) id(seq uint64) string { return server.EventID{Epoch: b.epoch, Seq: seq}.String() }

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

// errExpired reports that the position cannot be resumed because events
// after it are no longer retained.
var errExpired = errors.New("natsbroker: expired")

// replay returns the frames of the events on subjects in (from, hi], in
// stream order, or errExpired when more than the window was published on
// one of the subjects since from.
func (b *Broker) replay(ctx context.Context, subjects []string, from, hi uint64) ([][]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, replayTimeout)
		defer cancel()
	}
	cons, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    subjects,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from + 1,
		InactiveThreshold: time.Minute, // a backstop: the consumer is deleted below
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: replay: %w", err)
	}
	info := cons.CachedInfo()
	defer b.deleteConsumer(info.Name)
	if info.NumPending == 0 {
		return nil, nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(int(min(info.NumPending, 500))), jetstream.PullHeartbeat(heartbeat))
	if err != nil {
		return nil, fmt.Errorf("natsbroker: replay: %w", err)
	}
	defer it.Stop()

	var frames [][]byte
	count := make(map[string]int, len(subjects))
	next := jetstream.NextContext(ctx)
	for {
		msg, err := it.Next(next)
		if err != nil {
			// A message counted as pending but trimmed before it came,
			// or a stalled server: the trim check decides which.
			if cerr := b.checkTrimmed(ctx, subjects, from); errors.Is(cerr, errExpired) {
				return nil, cerr
			}
			return nil, fmt.Errorf("natsbroker: replay: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("natsbroker: replay: %w", err)
		}
		seq := meta.Sequence.Stream
		if seq > hi {
			return frames, nil // the fan-out delivers it
		}
		subj := msg.Subject()
		count[subj]++
		if count[subj] > b.window {
			return nil, errExpired
		}
		body := msg.Data()
		frames = append(frames, b.appendFrame(make([]byte, 0, b.frameLen(body)), seq, body))
		if seq == hi || meta.NumPending == 0 {
			return frames, nil
		}
	}
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

// checkTrimmed returns errExpired when an event on one of subjects with a
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
			return errExpired
		}
		return nil
	}
	for i, subj := range subjects {
		info, err := b.stream.Info(ctx, jetstream.WithSubjectFilter(subj))
		if err != nil {
			return fmt.Errorf("natsbroker: subscribe: %w", err)
		}
		if i == 0 && b.prefix && info.State.FirstSeq > from+1 {
			return errExpired
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
			return errExpired
		}
	}
	return nil
}
