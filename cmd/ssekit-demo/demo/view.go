package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/sse"
	"github.com/ssekit/ssekit/web/events"
)

// ChatHistory is how many of the last chat messages a snapshot holds.
const ChatHistory = 50

// viewTopics are the topics a view folds, and a page streams.
var viewTopics = []string{events.TopicPrices, events.TopicChat, events.TopicPresence}

// view is the state the demo's events build, kept up to date for the
// snapshots of GET /api/snapshot: the latest price of each symbol, the
// last chat messages and who is online, with the sequence number of the
// last event it folded in, which is the snapshot's cursor.
//
// One goroutine folds the events in, in the broker's order, from a
// subscription of the view's own; a snapshot copies the state and the
// sequence number under the lock that the fold takes for each batch. So a
// snapshot reflects exactly the events up to its cursor, and a stream that
// resumes from the cursor carries exactly the events after it: none falls
// between the two, and none is in both, whoever published it (with NATS,
// the view of every instance follows the one JetStream stream). Reading
// some state and then the broker's latest ID would not do: an event
// published between the two reads would be in neither or in both.
type view struct {
	broker server.Broker
	log    *slog.Logger

	mu     sync.Mutex
	seq    uint64 // the last event folded in, or the position the view started at
	prices map[string]events.Price
	chat   []events.ChatEntry // the last ChatHistory messages, oldest first
	online []string
}

// newView returns a view of b's topics with its subscription, for run:
// what is published after newView returns is in the view.
func newView(ctx context.Context, b server.Broker, log *slog.Logger) (*view, server.Subscription, error) {
	sub, err := b.Subscribe(ctx, server.SubscribeRequest{Topics: viewTopics})
	if err != nil {
		return nil, nil, err
	}
	v := &view{broker: b, log: log, seq: sub.Position(), prices: make(map[string]events.Price)}
	return v, sub, nil
}

// run folds the events of sub in, and of a new subscription whenever one
// ends (a queue that overflowed, a broker's network error), until ctx is
// done or the broker closes.
func (v *view) run(ctx context.Context, sub server.Subscription) {
	for sub != nil {
		err := v.follow(ctx, sub)
		sub.Close()
		if ctx.Err() != nil || errors.Is(err, server.ErrBrokerClosed) {
			return
		}
		v.log.Warn("demo: the snapshot's subscription ended; subscribing again", "err", err)
		sub = v.resubscribe(ctx)
	}
}

// follow folds in the frames of sub until it ends.
func (v *view) follow(ctx context.Context, sub server.Subscription) error {
	var frames []server.Frame
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Ready():
		}
		var err error
		frames, err = sub.Fetch(frames[:0])
		v.fold(frames, math.MaxUint64)
		if err != nil {
			return err
		}
	}
}

// resubscribe subscribes again, trying every second, and folds in what was
// published between the view's last event and the new subscription's
// position, read from the broker's history. When that is no longer
// retained, the view starts afresh at the new position: a snapshot may then
// hold less, never something its cursor does not account for. It returns
// nil once ctx is done or the broker closed.
func (v *view) resubscribe(ctx context.Context) server.Subscription {
	for {
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		sub, err := v.broker.Subscribe(ctx, server.SubscribeRequest{Topics: viewTopics})
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, server.ErrBrokerClosed) {
				return nil
			}
			v.log.Warn("demo: the snapshot cannot subscribe", "err", err)
			continue
		}
		pos := sub.Position()
		if err := v.catchUp(ctx, pos); err != nil {
			v.log.Warn("demo: the snapshot missed events; it starts afresh", "err", err)
			v.mu.Lock()
			v.prices, v.chat, v.online = make(map[string]events.Price), nil, nil
			v.mu.Unlock()
		}
		v.mu.Lock()
		v.seq = max(v.seq, pos)
		v.mu.Unlock()
		return sub
	}
}

// catchUp folds in the retained events after the view's last one, up to
// pos.
func (v *view) catchUp(ctx context.Context, pos uint64) error {
	v.mu.Lock()
	from := v.seq
	v.mu.Unlock()
	if from >= pos {
		return nil
	}
	cur, err := v.broker.Replay(ctx, viewTopics, from)
	if err != nil {
		return err
	}
	defer cur.Close()
	var frames []server.Frame
	for {
		frames, err = cur.Next(ctx, frames[:0], 1<<20)
		if err != nil {
			return err
		}
		if len(frames) == 0 || !v.fold(frames, pos) {
			return nil
		}
	}
}

// fold folds in the frames up to sequence number upTo, under one lock, and
// reports whether it folded them all.
func (v *view) fold(frames []server.Frame, upTo uint64) bool {
	type update struct {
		seq  uint64
		ev   sse.Event
		skip bool
	}
	all := true
	updates := make([]update, 0, len(frames))
	for _, f := range frames {
		if f.Seq > upTo {
			all = false
			break
		}
		// Decoded outside the lock: a snapshot waits only for the state.
		ev, err := sse.NewDecoder(bytes.NewReader(f.Bytes)).Next()
		if err != nil {
			v.log.Warn("demo: the snapshot skips a frame it cannot read", "seq", f.Seq, "err", err)
		}
		updates = append(updates, update{seq: f.Seq, ev: ev, skip: err != nil})
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, u := range updates {
		if !u.skip {
			if err := v.apply(u.ev); err != nil {
				v.log.Warn("demo: the snapshot skips an event", "id", u.ev.ID, "type", u.ev.Type, "err", err)
			}
		}
		v.seq = u.seq
	}
	return all
}

// apply folds one event into the state. Call with v.mu held.
func (v *view) apply(ev sse.Event) error {
	switch ev.Type {
	case events.PriceTick.Name():
		p, err := events.PriceTick.DecodeString(ev.Data)
		if err != nil {
			return err
		}
		v.prices[p.Symbol] = p
	case events.Chat.Name():
		c, err := events.Chat.DecodeString(ev.Data)
		if err != nil {
			return err
		}
		if len(v.chat) == ChatHistory {
			v.chat = slices.Delete(v.chat, 0, 1)
		}
		v.chat = append(v.chat, events.ChatEntry{ID: ev.ID, ChatMessage: c})
	case events.Join.Name(), events.Leave.Name():
		p, err := events.Join.DecodeString(ev.Data) // Join and Leave share their type and codec
		if err != nil {
			return err
		}
		v.online = p.Online
	}
	return nil
}

// snapshot returns the state and its cursor, read together.
func (v *view) snapshot() events.Snapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := events.Snapshot{
		ID:     server.EventID{Epoch: v.broker.Epoch(), Seq: v.seq}.String(),
		Prices: make([]events.Price, 0, len(v.prices)),
		Chat:   append([]events.ChatEntry{}, v.chat...),
		Online: append([]string{}, v.online...),
	}
	for _, p := range v.prices {
		s.Prices = append(s.Prices, p)
	}
	slices.SortFunc(s.Prices, func(a, b events.Price) int { return strings.Compare(a.Symbol, b.Symbol) })
	return s
}

// getSnapshot answers GET /api/snapshot with the view's snapshot in JSON
// (an events.Snapshot), for a page's first view.
func (m *Main) getSnapshot(w http.ResponseWriter, r *http.Request) {
	s := m.view.snapshot()
	s.You = nameOf(r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(s)
}
