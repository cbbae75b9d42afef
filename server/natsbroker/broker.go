package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/server"
)

var (
	// ErrDisconnected ends the subscriptions of a broker whose NATS
	// connection was lost. Clients reconnect, possibly to another
	// instance, and resume from their Last-Event-ID.
	ErrDisconnected = errors.New("natsbroker: connection to NATS lost")
	// ErrGap ends the subscriptions of a broker that found events missing
	// from the stream before it could deliver them (trimmed while the
	// instance lagged behind, or deleted). Clients resume from their
	// Last-Event-ID and get a reset when the events are gone for them.
	ErrGap = errors.New("natsbroker: events were trimmed before this instance delivered them")
)

// heartbeat is the idle heartbeat of the broker's consumers. The client
// library recreates an ordered consumer that misses two, for example one
// lost when a clustered stream changes leader; the default of five
// seconds would stall delivery for ten.
const heartbeat = time.Second

// drainTimeout bounds how long Close waits for the instance's own last
// publishes to reach its subscribers.
const drainTimeout = 5 * time.Second

// Broker is a [server.Broker] on a NATS JetStream stream, shared by every
// server instance that uses the same stream. See the package doc.
type Broker struct {
	js      jetstream.JetStream
	nc      *nats.Conn
	stream  jetstream.Stream
	cfg     config
	epoch   string
	window  int   // replay window per topic
	perSubj int64 // the stream's MaxMsgsPerSubject, <= 0 when unlimited
	prefix  bool  // the stream drops its oldest messages by age or size
	iter    jetstream.MessagesContext
	status  chan nats.Status
	fanDone chan struct{}
	watDone chan struct{}
	cleanup sync.WaitGroup // deletions of replay consumers

	closed    atomic.Bool
	published atomic.Uint64 // highest sequence acknowledged to this instance
	count     atomic.Uint64 // events this instance published

	mu      sync.Mutex
	pos     uint64 // last stream sequence the fan-out handled
	subs    map[string]map[*subscription]struct{}
	drainTo uint64
	drained chan struct{}
	stopped bool  // Close has taken the subscriptions
	failed  error // the instance's consumer stopped
}

// New returns a broker on js. It looks the stream up, creating it with a
// fresh epoch in its metadata when it does not exist (an existing stream is
// used as it is: its limits are not changed), and starts the instance's
// consumer, which delivers what is published from now on. Each request to
// NATS gets js's default timeout (jetstream.WithDefaultTimeout). New
// returns an error for an invalid option, when NATS does not answer, and
// for a stream without an epoch in its metadata or without the broker's
// subjects. It does not take ownership of js's connection: Close leaves
// it open.
func New(js jetstream.JetStream, opts ...Option) (*Broker, error) {
	cfg := defaults()
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if js == nil {
		return nil, errors.New("natsbroker: nil JetStream")
	}
	ctx := context.Background() // each request gets js's default timeout

	stream, err := openStream(ctx, js, &cfg)
	if err != nil {
		return nil, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: stream %q: %w", cfg.stream, err)
	}
	epoch := info.Config.Metadata[MetadataEpoch]
	if _, err := server.ParseEventID(epoch + "-0"); err != nil {
		return nil, fmt.Errorf("natsbroker: stream %q has no valid %q in its metadata (%q); it was not created by natsbroker", cfg.stream, MetadataEpoch, epoch)
	}
	if want := cfg.prefix + ".*"; !slices.Contains(info.Config.Subjects, want) {
		return nil, fmt.Errorf("natsbroker: stream %q takes subjects %q, not %q", cfg.stream, info.Config.Subjects, want)
	}
	c := info.Config
	b := &Broker{
		js:      js,
		nc:      js.Conn(),
		stream:  stream,
		cfg:     cfg,
		epoch:   epoch,
		window:  cfg.maxMsgs,
		perSubj: c.MaxMsgsPerSubject,
		prefix:  c.MaxAge > 0 || c.MaxMsgs > 0 || c.MaxBytes > 0,
		fanDone: make(chan struct{}),
		watDone: make(chan struct{}),
		pos:     info.State.LastSeq,
		subs:    make(map[string]map[*subscription]struct{}),
	}

	// The instance's one consumer: ordered (ephemeral, in memory, recreated
	// by the client library after a reconnection from where it stopped) and
	// starting right after the last message stored when we looked.
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   b.pos + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: consumer on %q: %w", cfg.stream, err)
	}
	b.iter, err = cons.Messages(jetstream.PullHeartbeat(heartbeat))
	if err != nil {
		return nil, fmt.Errorf("natsbroker: consumer on %q: %w", cfg.stream, err)
	}
	b.status = b.nc.StatusChanged(nats.RECONNECTING, nats.DISCONNECTED, nats.CLOSED)
	go b.fanOut()
	go b.watch()
	return b, nil
}

// openStream returns the stream, creating it when it does not exist.
func openStream(ctx context.Context, js jetstream.JetStream, cfg *config) (jetstream.Stream, error) {
	for {
		stream, err := js.Stream(ctx, cfg.stream)
		if err == nil {
			return stream, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("natsbroker: stream %q: %w", cfg.stream, err)
		}
		stream, err = js.CreateStream(ctx, cfg.streamConfig(server.NewEpoch()))
		if err == nil {
			return stream, nil
		}
		// Another instance created it first: use theirs.
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("natsbroker: create stream %q: %w", cfg.stream, err)
		}
	}
}

// Epoch returns the epoch of the stream, the first part of every ID.
func (b *Broker) Epoch() string { return b.epoch }

// Published implements [server.PublishCounter]: the events this instance
// published (a de-duplicated PublishKey is not counted again).
func (b *Broker) Published() uint64 { return b.count.Load() }

// Stream returns the name of the broker's stream.
func (b *Broker) Stream() string { return b.cfg.stream }

// Publish implements [server.Broker]. It returns once the stream has
// stored the event, or an error: when the connection to NATS is down it
// fails at once, and any other failure means the stream did not
// acknowledge the event (see the package doc about retries).
func (b *Broker) Publish(ctx context.Context, topic string, m *server.Message) (uint64, error) {
	return b.publish(ctx, topic, "", m)
}

// PublishKey is [Broker.Publish] with de-duplication: the stream stores one
// event per topic and key within its de-duplication window (two minutes,
// or MaxAge when shorter), and a repeated publish returns the sequence
// number of the first. Use it when a publisher may retry, for example after
// a timeout whose outcome is unknown; make the message with
// server.NewMessage. An empty key publishes without de-duplication; a key
// must not contain a line break.
func (b *Broker) PublishKey(ctx context.Context, topic, key string, m *server.Message) (uint64, error) {
	return b.publish(ctx, topic, key, m)
}

func (b *Broker) publish(ctx context.Context, topic, key string, m *server.Message) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	subj, err := b.subject(topic)
	if err != nil {
		return 0, err
	}
	if strings.ContainsAny(key, "\r\n") {
		return 0, errors.New("natsbroker: publish: key contains a line break")
	}
	if b.closed.Load() {
		return 0, server.ErrBrokerClosed
	}
	// While the client library reconnects it would buffer the message and
	// send it later, after the caller has had a timeout: refuse instead.
	if st := b.nc.Status(); st != nats.CONNECTED {
		return 0, fmt.Errorf("natsbroker: publish: not connected to NATS (%v)", st)
	}
	// No Nats-Expected-Stream header: JetStream would store it with every
	// message, and a subject belongs to one stream of the account anyway.
	var opts []jetstream.PublishOpt
	if key != "" {
		// Nats-Msg-Id is unique across the stream: scope keys to the topic.
		opts = append(opts, jetstream.WithMsgID(subj+" "+key))
	}
	ack, err := b.js.Publish(ctx, subj, m.Body(), opts...)
	if err != nil {
		return 0, fmt.Errorf("natsbroker: publish: %w", err)
	}
	if ack.Stream != b.cfg.stream {
		return 0, fmt.Errorf("natsbroker: publish: stored by stream %q, not %q", ack.Stream, b.cfg.stream)
	}
	for {
		p := b.published.Load()
		if ack.Sequence <= p || b.published.CompareAndSwap(p, ack.Sequence) {
			break
		}
	}
	if !ack.Duplicate {
		b.count.Add(1)
	}
	return ack.Sequence, nil
}

// fanOut reads the instance's consumer and hands each event to the local
// subscribers of its subject, until Close stops the consumer.
func (b *Broker) fanOut() {
	defer close(b.fanDone)
	for {
		msg, err := b.iter.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			// The ordered consumer recreates itself on errors; what it
			// returns is final.
			b.mu.Lock()
			b.failed = fmt.Errorf("natsbroker: consumer: %w", err)
			b.endLocked(b.failed)
			b.mu.Unlock()
			return
		}
		meta, err := msg.Metadata()
		if err != nil {
			continue
		}
		b.dispatch(msg.Subject(), meta.Sequence.Stream, msg.Data())
	}
}

// dispatch builds the frame of the event at seq once and queues the same
// bytes for every local subscriber of subj.
func (b *Broker) dispatch(subj string, seq uint64, body []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if seq <= b.pos {
		return // delivered before the consumer was recreated
	}
	if seq > b.pos+1 {
		// Sequences are dense: what lies between was removed before this
		// instance saw it, and any subscriber may have missed some of it.
		b.endLocked(ErrGap)
	}
	b.pos = seq
	if b.drained != nil && b.pos >= b.drainTo {
		close(b.drained)
		b.drained = nil
	}
	subs := b.subs[subj]
	if len(subs) == 0 {
		return
	}
	f, err := server.NewFrame(b.epoch, seq, body)
	if err != nil {
		return // not an event server.Publish made: published by hand on the subject
	}
	for s := range subs {
		if seq <= s.after {
			continue
		}
		if !s.Push(f) {
			b.unsubscribe(s)
		}
	}
}

// watch ends every subscription when the connection is lost: while the
// client library reconnects, browsers are better off reconnecting to an
// instance that is connected, resuming from their last ID.
//
// Events may be handled after the client library has reconnected: then
// only the subscriptions from before the reconnection end (gen counts the
// connection's reconnections).
func (b *Broker) watch() {
	defer close(b.watDone)
	for range b.status {
		connected := b.nc.IsConnected()
		gen := b.nc.Stats().Reconnects
		b.mu.Lock()
		for _, subs := range b.subs {
			for s := range subs {
				if !connected || s.gen < gen {
					s.End(ErrDisconnected)
					b.unsubscribe(s) // deleting entries while ranging is allowed
				}
			}
		}
		b.mu.Unlock()
	}
}

// endLocked ends every subscription with err. Call with b.mu held.
func (b *Broker) endLocked(err error) {
	for subj, subs := range b.subs {
		for s := range subs {
			s.End(err)
			s.registered = false
		}
		delete(b.subs, subj)
	}
}

// unsubscribe removes s from the fan-out. Call with b.mu held.
func (b *Broker) unsubscribe(s *subscription) {
	if !s.registered {
		return
	}
	s.registered = false
	for _, subj := range s.subjects {
		subs := b.subs[subj]
		delete(subs, s)
		if len(subs) == 0 {
			delete(b.subs, subj)
		}
	}
}

// Close implements [server.Broker]. It waits (a few seconds at most) until
// the events this instance published have reached its own subscribers,
// stops the instance's consumer and ends every subscription with
// server.ErrBrokerClosed. It does not close the NATS connection.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		return nil
	}
	b.closed.Store(true)
	var drained chan struct{}
	if target := b.published.Load(); b.pos < target && b.nc.IsConnected() {
		drained = make(chan struct{})
		b.drainTo, b.drained = target, drained
	}
	b.mu.Unlock()

	if drained != nil {
		t := time.NewTimer(drainTimeout)
		select {
		case <-drained:
		case <-b.fanDone:
		case <-t.C:
		}
		t.Stop()
	}
	b.iter.Stop()
	<-b.fanDone
	b.nc.RemoveStatusListener(b.status)
	<-b.watDone

	b.mu.Lock()
	b.stopped = true
	b.endLocked(server.ErrBrokerClosed)
	b.mu.Unlock()
	b.cleanup.Wait()
	return nil
}
