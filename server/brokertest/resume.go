package brokertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/sse"
)

// Event is a frame as a client decodes it.
type Event struct {
	Seq            uint64
	ID, Type, Data string
}

// Decode decodes a frame, which must hold exactly one event whose id field
// gives the frame's Seq.
func Decode(f server.Frame) (Event, error) {
	d := sse.NewDecoder(bytes.NewReader(f.Bytes))
	ev, err := d.Next()
	if err != nil {
		return Event{}, fmt.Errorf("frame %q does not decode: %v", f.Bytes, err)
	}
	if _, err := d.Next(); err == nil {
		return Event{}, fmt.Errorf("frame %q holds more than one event", f.Bytes)
	}
	id, err := server.ParseEventID(ev.ID)
	if err != nil || id.Seq != f.Seq {
		return Event{}, fmt.Errorf("frame %q has Seq %d; its id field says %q", f.Bytes, f.Seq, ev.ID)
	}
	return Event{Seq: f.Seq, ID: ev.ID, Type: ev.Type, Data: ev.Data}, nil
}

// Resume returns the first n events a client that resumes after the
// sequence number after receives on topics, read the way the server reads
// them: it subscribes, reads the replay until it has reached the
// subscription's position, subscribing again should the live queue
// overflow meanwhile, then takes live events, skipping those the replay
// gave. during, when not nil, runs between the subscription and the first
// read, as events published while a stream starts. Use it to test a broker
// across instances, or a client's view of a replay.
func Resume(ctx context.Context, b server.Broker, after uint64, n int, topics []string, during func()) ([]Event, error) {
	sub, err := b.Subscribe(ctx, server.SubscribeRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	defer func() { sub.Close() }()
	if during != nil {
		during()
	}
	cur, err := b.Replay(ctx, topics, after)
	if err != nil {
		return nil, err
	}
	defer cur.Close()
	var got []Event
	add := func(frames []server.Frame) error {
		for _, f := range frames {
			if f.Seq <= after || len(got) == n {
				continue
			}
			e, err := Decode(f)
			if err != nil {
				return err
			}
			got = append(got, e)
			after = f.Seq
		}
		return nil
	}
	var frames []server.Frame
	for caughtUp := false; !caughtUp; {
		page, err := cur.Next(ctx, nil, 64<<10)
		if err != nil {
			return got, err
		}
		if err := add(page); err != nil {
			return got, err
		}
		if len(got) == n {
			return got, nil
		}
		if len(page) > 0 && after < sub.Position() {
			continue // the queue holds nothing this old
		}
		frames, err = sub.Fetch(frames[:0])
		if errors.Is(err, server.ErrSlowConsumer) {
			sub.Close()
			if sub, err = b.Subscribe(ctx, server.SubscribeRequest{Topics: topics}); err != nil {
				return got, err
			}
			continue
		}
		if err := add(frames); err != nil {
			return got, err
		}
		if err != nil {
			return got, err
		}
		caughtUp = true
	}
	for len(got) < n {
		select {
		case <-sub.Ready():
		case <-ctx.Done():
			return got, fmt.Errorf("%d of %d events: %w", len(got), n, ctx.Err())
		}
		frames, err = sub.Fetch(frames[:0])
		if err := add(frames); err != nil {
			return got, err
		}
		if err != nil {
			return got, err
		}
	}
	return got, nil
}
