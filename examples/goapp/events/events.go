// Package events defines the example's events once, for the server
// (./server) and for the go-app front end (./ui, compiled into ./app): the
// same Go types on both sides of the stream.
package events

import (
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// TopicCounter is the topic the server publishes the counter on.
const TopicCounter = "counter"

// Count is one tick of the server's counter. N grows by one at every tick,
// so a page that lost or repeated an event shows a gap or a repeat.
type Count struct {
	N    int64     `json:"n"`
	Time time.Time `json:"time"`
}

// Tick is published once per tick of the counter.
var Tick = schema.Define[Count]("counter.tick")

// Registry holds every event of the example; its fingerprint is in the
// server's hello and compiled into the page, which notices a stale bundle.
var Registry = schema.MustRegistry(Tick)
