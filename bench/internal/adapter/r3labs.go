package adapter

import (
	"net/http"
	"strconv"
	"sync/atomic"

	r3 "github.com/r3labs/sse/v2"
)

// R3labs drives github.com/r3labs/sse/v2 v2.10.0: an sse.Server with one
// stream, Topic, created up front. With Options.Retain it turns
// AutoReplay on, which keeps every event ever published (r3labs has no
// bound); without, AutoReplay is off and the adapter numbers the events
// itself, as AutoReplay's event log would.
type R3labs struct{}

func (R3labs) Name() string { return "r3labs" }

func (R3labs) New(o Options) Server {
	s := r3.New()
	s.AutoReplay = o.Retain > 0
	st := s.CreateStream(Topic)
	return &r3labsServer{s: s, st: st}
}

type r3labsServer struct {
	s   *r3.Server
	st  *r3.Stream
	seq atomic.Uint64
}

func (r *r3labsServer) Handler() http.Handler { return r.s }
func (r *r3labsServer) Path() string          { return "/events?stream=" + Topic }

var eventTypeBytes = []byte(EventType)

func (r *r3labsServer) Publish(data []byte) error {
	ev := &r3.Event{Data: data, Event: eventTypeBytes}
	if !r.s.AutoReplay {
		ev.ID = strconv.AppendUint(nil, r.seq.Add(1), 10)
	}
	r.s.Publish(Topic, ev)
	return nil
}

// Logged returns the length of the stream's event log. r3labs publishes
// through a channel to the stream's goroutine, which appends to the log;
// the harness polls this to know that every publish has been taken in.
// The read races with that goroutine's append, which is harmless for a
// slice length read on amd64 and arm64, and only the harness does it.
func (r *r3labsServer) Logged() int { return len(r.st.Eventlog) }

func (r *r3labsServer) Stats() map[string]uint64 { return nil }

func (r *r3labsServer) Close() { r.s.Close() }
