package adapter

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	gosse "github.com/tmaxmax/go-sse"
)

// GoSSE drives github.com/tmaxmax/go-sse v0.11.0: an sse.Server on its
// default provider, Joe, whose OnSession subscribes every request to Topic.
// With Options.Retain, Joe gets a FiniteReplayer of that many events with
// automatic IDs; without, the adapter numbers the events itself, so that
// frames carry an id field as ssekit's and r3labs' do.
type GoSSE struct{}

func (GoSSE) Name() string { return "go-sse" }

func (GoSSE) New(o Options) Server {
	joe := &gosse.Joe{}
	if o.Retain > 0 {
		r, err := gosse.NewFiniteReplayer(o.Retain, true)
		if err != nil {
			panic("adapter: go-sse replayer: " + err.Error())
		}
		joe.Replayer = r
	}
	s := &gosse.Server{
		Provider: joe,
		OnSession: func(http.ResponseWriter, *http.Request) ([]string, bool) {
			return []string{Topic}, true
		},
	}
	return &gosseServer{s: s, autoID: o.Retain > 0}
}

type gosseServer struct {
	s      *gosse.Server
	autoID bool
	seq    atomic.Uint64
}

func (g *gosseServer) Handler() http.Handler { return g.s }
func (g *gosseServer) Path() string          { return "/events" }

func (g *gosseServer) Publish(data []byte) error {
	m := &gosse.Message{Type: gosse.Type(EventType)}
	if !g.autoID {
		m.ID = gosse.ID(strconv.FormatUint(g.seq.Add(1), 10))
	}
	m.AppendData(string(data))
	return g.s.Publish(m, Topic)
}

func (g *gosseServer) Stats() map[string]uint64 { return nil }

func (g *gosseServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.s.Shutdown(ctx)
}
