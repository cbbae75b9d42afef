package server

import (
	"context"

	"github.com/ssekit/ssekit/shared/schema"
)

// Publish encodes v with the event's codec, frames it once and publishes it
// to topic; the broker assigns the ID, which Publish returns, and every
// subscriber gets the same bytes.
func Publish[T any](ctx context.Context, b Broker, topic string, ev schema.Event[T], v T) (id string, err error) {
	m, err := NewMessage(b, ev, v)
	if err != nil {
		return "", err
	}
	return publish(ctx, b, topic, m)
}

// PublishRaw publishes data, as it is, as an event of type eventType: for
// events that have no schema definition, such as those a proxy or a test
// fixture relays. The type must not be empty, contain a line break or use
// the reserved prefix "ssekit.".
func PublishRaw(ctx context.Context, b Broker, topic, eventType string, data []byte) (id string, err error) {
	m, err := newMessage(b.Epoch(), eventType, data)
	if err != nil {
		return "", err
	}
	return publish(ctx, b, topic, m)
}

func publish(ctx context.Context, b Broker, topic string, m *Message) (string, error) {
	seq, err := b.Publish(ctx, topic, m)
	if err != nil {
		return "", err
	}
	return EventID{Epoch: b.Epoch(), Seq: seq}.String(), nil
}
