package natsbroker_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/internal/natstest"
	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/natsbroker"
)

// BenchmarkPublish measures one publish on the file store: the round trip
// to JetStream and the fan-out to a subscriber on this instance.
func BenchmarkPublish(b *testing.B) {
	js := connect(b, natstest.JetStream(b))
	br := newBroker(b, js, append(uniqueStream(), natsbroker.WithStorage(jetstream.FileStorage))...)
	s := subscribe(b, br, "", "prices").sub
	done := make(chan int)
	go func() { // the connection's writer
		n := 0
		var frames []server.Frame
		for {
			var err error
			frames, err = s.Fetch(frames[:0])
			n += len(frames)
			if err != nil {
				done <- n
				return
			}
			<-s.Ready()
		}
	}()
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := server.PublishRaw(ctx, br, "prices", "test", []byte(`{"symbol":"ACME","price":12.34}`)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.StopTimer()
	br.Close()
	if got := <-done; got != n {
		b.Fatalf("subscriber got %d events; want %d", got, n)
	}
}

// BenchmarkReplay1000 measures a client resuming 1000 events behind: the
// replay consumer, the trim checks and building the frames, read in the
// server's page size.
func BenchmarkReplay1000(b *testing.B) {
	const events = 1000
	js := connect(b, natstest.JetStream(b))
	br := newBroker(b, js, uniqueStream()...)
	first := publish(b, br, "prices", "0")
	for range events {
		if _, err := server.PublishRaw(context.Background(), br, "prices", "test", []byte(`{"symbol":"ACME","price":12.34}`)); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	after, _ := server.ParseEventID(first)
	b.ReportAllocs()
	var frames []server.Frame
	n := 0
	for b.Loop() {
		cur, err := br.Replay(ctx, []string{"prices"}, after.Seq)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			if frames, err = cur.Next(ctx, frames[:0], 256<<10); err != nil {
				b.Fatal(err)
			}
			if len(frames) == 0 {
				break
			}
			got += len(frames)
		}
		if got != events {
			b.Fatalf("replayed %d frames; want %d", got, events)
		}
		cur.Close()
		n += got
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkFanOut100 measures delivering events to 100 subscribers of
// this instance: one publish, then each subscriber fetches its frame.
func BenchmarkFanOut100(b *testing.B) {
	const subscribers = 100
	js := connect(b, natstest.JetStream(b))
	br := newBroker(b, js, uniqueStream()...)
	var subs []server.Subscription
	for range subscribers {
		subs = append(subs, subscribe(b, br, "", "prices").sub)
	}
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	var frames []server.Frame
	for b.Loop() {
		if _, err := server.PublishRaw(ctx, br, "prices", "test", []byte(`{"symbol":"ACME","price":12.34}`)); err != nil {
			b.Fatal(err)
		}
		for _, s := range subs {
			var err error
			for frames = frames[:0]; len(frames) == 0 && err == nil; {
				if frames, err = s.Fetch(frames); len(frames) == 0 && err == nil {
					<-s.Ready()
				}
			}
			if len(frames) != 1 || err != nil {
				b.Fatalf("Fetch = %d frames, %v; want 1", len(frames), err)
			}
		}
		n += subscribers
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
}
