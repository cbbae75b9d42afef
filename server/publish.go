package server

import (
	"context"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// Publish encodes v with the event's codec, frames it once and publishes it
// to topic; the broker assigns and returns the ID, and every subscriber gets
// the same bytes.
func Publish[T any](ctx context.Context, b Broker, topic string, ev schema.Event[T], v T) (id string, err error) {
	data, err := ev.Encode(v)
	if err != nil {
		return "", err
	}
	frame, err := sse.AppendEvent(make([]byte, 0, len(ev.Name())+len(data)+16), sse.Event{Type: ev.Name(), Data: string(data)})
	if err != nil {
		return "", err
	}
	return b.Publish(ctx, topic, frame)
}
