package client_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
)

// BenchmarkDispatcherEvent is the client's event path after the transport:
// queue an event, deliver it on the dispatcher's goroutine, decode it for
// one typed handler. SendEvent waits when the handler is a whole queue
// behind, as the fetch transport does.
func BenchmarkDispatcherEvent(b *testing.B) {
	d := client.NewDispatcher(client.Options{})
	go d.Run()
	defer d.Close()
	var got atomic.Int64
	client.On(d, note, func(string, client.Meta) { got.Add(1) })
	ev := event("note", `"hello"`, "3f9a1c0b7d2e-17")
	b.ReportAllocs()
	var sent int64
	for b.Loop() {
		d.SendEvent(ev, "https://example.com", nil)
		sent++
	}
	for got.Load() < sent { // the last events are still in the queue
		time.Sleep(time.Microsecond)
	}
}
