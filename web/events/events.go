// Package events defines the demo's events once, for both the server
// (cmd/ssekit-demo) and the page (web/app): the same Go types on both sides
// of the stream.
package events

import (
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// Topics the demo streams.
const (
	TopicPrices   = "prices"
	TopicChat     = "chat"
	TopicPresence = "presence"
)

// Price is one tick of a symbol's price.
type Price struct {
	Symbol string    `json:"symbol"`
	Price  float64   `json:"price"`
	Change float64   `json:"change"` // since the previous tick
	Time   time.Time `json:"time"`
}

// ChatMessage is one line of the chat.
type ChatMessage struct {
	User string    `json:"user"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
}

// Presence says who is connected, after someone joined or left.
type Presence struct {
	User   string   `json:"user"`   // who joined or left
	Online []string `json:"online"` // everyone connected now, sorted
}

// The demo's events. Price ticks come many times a second, so they decode
// with schema.FlatJSON, which reads and writes the same JSON as the
// default codec several times faster in the page; the rare chat and
// presence events keep the default, which costs no code of its own.
var (
	PriceTick = schema.Define[Price]("price.tick", schema.WithCodec(schema.FlatJSON[Price]()))
	Chat      = schema.Define[ChatMessage]("chat.message")
	Join      = schema.Define[Presence]("presence.join")
	Leave     = schema.Define[Presence]("presence.leave")
)

// Registry holds every event above; its fingerprint is in the server's
// hello and compiled into the page's bundle.
var Registry = schema.MustRegistry(PriceTick, Chat, Join, Leave)
