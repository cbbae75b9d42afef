package client

import (
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// IsHeartbeat reports whether typ is the type of the server's heartbeat
// event, [schema.HeartbeatEvent]: what an ssekit server sends instead of a
// comment to a client that asks with the query parameter heartbeat=event,
// since the native EventSource never shows comments to JavaScript. Its
// frame has no id field, so the last event ID stays.
func IsHeartbeat(typ string) bool { return typ == schema.HeartbeatEvent }

// NativeEvents returns the reserved event types a native source listens
// to whatever its handlers: the hello, the reset and the heartbeat.
func NativeEvents() []string {
	return []string{schema.HelloEvent, schema.ResetEvent, schema.HeartbeatEvent}
}

// maxHeartbeat bounds the interval a hello may announce: a longer one is
// as good as none for a watchdog, and this keeps the arithmetic far from
// overflow.
const maxHeartbeat = 24 * time.Hour

// HelloHeartbeat returns the heartbeat interval that a hello event's data
// announces ([schema.Hello.Heartbeat], in milliseconds), or 0 when it has
// none, it is not positive, or the data does not decode (the dispatcher
// reports that).
func HelloHeartbeat(data string) time.Duration {
	h, err := helloEvent.Decode([]byte(data))
	switch {
	case err != nil || h.Heartbeat <= 0:
		return 0
	case h.Heartbeat >= int64(maxHeartbeat/time.Millisecond):
		return maxHeartbeat
	}
	return time.Duration(h.Heartbeat) * time.Millisecond
}

// HelloEvents returns the event names that a hello event's data lists
// ([schema.Hello.Events]: the server's registry, when it has one and sends
// it), or nil. A native source listens to all of them, so that every event
// of the stream counts as a sign of life for its watchdog and moves its
// last event ID, whether or not the page handles it: an ssekit server sends
// heartbeats only when the stream is silent, and EventSource shows a page
// only the types it listens to.
func HelloEvents(data string) []string {
	h, err := helloEvent.Decode([]byte(data))
	if err != nil {
		return nil
	}
	return h.Events
}
