// Package adapter puts ssekit and the peer SSE libraries behind one small
// interface, so that every scenario of the harness drives them the same
// way: a handler that streams one topic, and a publisher of raw event data.
package adapter

import (
	"fmt"
	"net/http"
)

// Topic is the one topic (stream) every scenario publishes to.
const Topic = "bench"

// EventType is the event field of every published event.
const EventType = "tick"

// Options configure a library's server for a scenario.
type Options struct {
	// Retain is the number of events kept for replay. Zero means the
	// library's behaviour without replay where it has one (go-sse: no
	// replayer; r3labs: AutoReplay off), and ssekit's default retention
	// (it always retains).
	Retain int
}

// Library is one SSE server library.
type Library interface {
	// Name is the library's short name in reports: "ssekit", "go-sse",
	// "r3labs" or "bare".
	Name() string
	// New returns a server with its one topic ready to publish to.
	New(o Options) Server
}

// Server is a library's SSE endpoint and publisher.
type Server interface {
	// Handler streams Topic to each request of Path.
	Handler() http.Handler
	// Path is the request URI (path and query) that subscribes to Topic.
	Path() string
	// Publish sends one event of type EventType with data to Topic's
	// subscribers. The library may keep data: pass a fresh slice.
	Publish(data []byte) error
	// Stats returns library counters worth reporting (evictions), or nil.
	Stats() map[string]uint64
	// Close stops the server's background work. Requests still streaming
	// end when their contexts do.
	Close()
}

// Peers are the libraries compared, ssekit first.
func Peers() []Library { return []Library{SSEKit{}, GoSSE{}, R3labs{}} }

// ByName returns the library called name, including "bare".
func ByName(name string) (Library, error) {
	for _, l := range append(Peers(), Bare{}) {
		if l.Name() == name {
			return l, nil
		}
	}
	return nil, fmt.Errorf("adapter: unknown library %q", name)
}
