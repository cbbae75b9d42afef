package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
	"github.com/ssekit/ssekit/shared/schema"
)

// loop ranges over seq on a goroutine of its own, recording each value,
// calling body for it; it returns a channel closed when the loop ends.
func loop(seq func(func(string, client.Meta) bool), rec *recorder, body func(s string) bool) <-chan struct{} {
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for s, m := range seq {
			rec.add("loop %s %s", s, m.ID)
			if !body(s) {
				return
			}
		}
	}()
	return ended
}

func waitEnded(t testing.TB, ended <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(wait):
		t.Fatalf("the loop did not end within %v of %s", wait, what)
	}
}

// known starts a dispatcher that holds the events of the registry's types,
// so that a loop, which registers its handler once it starts, gets the
// events posted before.
func known(t testing.TB, l client.Limits) *client.Dispatcher {
	d, _ := startWith(t, client.Options{Known: registry.Names(), Limits: l})
	return d
}

func TestEventsBreakUnregisters(t *testing.T) {
	t.Parallel()
	d := known(t, client.Limits{})
	rec := newRecorder()
	ended := loop(client.Events(context.Background(), d, note), rec, func(s string) bool { return s != "stop" })
	d.PostEvent(event("note", `"a"`, "id-a"), "")
	rec.expect(t, "loop a id-a") // the loop's handler is in
	other := newRecorder()
	client.On(d, note, func(s string, _ client.Meta) { other.add("other %s", s) })
	for _, s := range []string{"stop", "b", "c"} {
		d.PostEvent(event("note", `"`+s+`"`, "id-"+s), "")
	}
	rec.expect(t, "loop stop id-stop")
	waitEnded(t, ended, "a break")
	// The loop's handler is gone: nothing blocks the other handler.
	other.expect(t, "other stop", "other b", "other c")
	rec.none(t)
}

// A slow loop body does not hold up the other handlers while its queue has
// room; past that, backpressure. Nothing is lost.
func TestEventsSlowBody(t *testing.T) {
	t.Parallel()
	const limit = 8
	d := known(t, client.Limits{Events: limit, Bytes: 1 << 20})
	release := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	rec := newRecorder()
	ended := loop(client.Events(context.Background(), d, note), rec, func(s string) bool {
		if s == "0" {
			<-release // the body is stuck on the first value
		}
		return s != "end"
	})
	d.PostEvent(event("note", `"0"`, ""), "")
	rec.expect(t, "loop 0 ")
	other := newRecorder()
	client.On(d, note, func(s string, _ client.Meta) { other.add("other %s", s) })
	for i := 1; i <= limit; i++ { // fill the loop's queue, not more
		d.SendEvent(event("note", fmt.Sprintf(`"%d"`, i), ""), "", nil)
	}
	for i := 1; i <= limit; i++ {
		other.expect(t, fmt.Sprintf("other %d", i))
	}
	// Over the loop's limit, the dispatcher waits for the body: the next
	// events queue up.
	for i := limit + 1; i <= limit+limit; i++ {
		d.SendEvent(event("note", fmt.Sprintf(`"%d"`, i), ""), "", nil)
	}
	d.SendEvent(event("note", `"end"`, ""), "", nil)
	if events, _ := d.Queued(); events > limit {
		t.Errorf("Queued() = %d events; want at most the limit %d", events, limit)
	}
	close(release)
	for i := 1; i <= limit+limit; i++ {
		rec.expect(t, fmt.Sprintf("loop %d ", i))
	}
	rec.expect(t, "loop end ")
	waitEnded(t, ended, "the last value")
	for i := limit + 1; i <= limit+limit; i++ {
		other.expect(t, fmt.Sprintf("other %d", i))
	}
	other.expect(t, "other end")
}

func TestEventsEnds(t *testing.T) {
	t.Parallel()
	t.Run("ctx", func(t *testing.T) {
		t.Parallel()
		d := known(t, client.Limits{})
		ctx, cancel := context.WithCancel(context.Background())
		rec := newRecorder()
		ended := loop(client.Events(ctx, d, note), rec, func(string) bool { return true })
		d.PostEvent(event("note", `"a"`, ""), "")
		rec.expect(t, "loop a ")
		cancel()
		waitEnded(t, ended, "cancel")
	})
	t.Run("Close", func(t *testing.T) {
		t.Parallel()
		d := known(t, client.Limits{})
		rec := newRecorder()
		ended := loop(client.Events(context.Background(), d, note), rec, func(string) bool { return true })
		d.PostEvent(event("note", `"a"`, ""), "")
		rec.expect(t, "loop a ")
		d.Close()
		waitEnded(t, ended, "Close")
	})
	t.Run("end of the stream, after the last values", func(t *testing.T) {
		t.Parallel()
		d := known(t, client.Limits{})
		rec := newRecorder()
		block := make(chan struct{})
		ended := loop(client.Events(context.Background(), d, note), rec, func(s string) bool {
			if s == "a" {
				<-block
			}
			return true
		})
		errs := newRecorder()
		d.OnError(func(err error) { errs.add("%v", err) })
		d.PostEvent(event("note", `"a"`, ""), "")
		rec.expect(t, "loop a ")
		d.PostEvent(event("note", `"b"`, ""), "")
		d.PostEvent(event("note", `"c"`, ""), "")
		d.PostEnd(errors.New("refused"))
		errs.expect(t, "refused")
		close(block)
		rec.expect(t, "loop b ", "loop c ")
		waitEnded(t, ended, "the end of the stream")
	})
}

func TestEventsDecodeError(t *testing.T) {
	t.Parallel()
	d := known(t, client.Limits{})
	rec := newRecorder()
	d.OnError(func(err error) {
		var de *schema.DecodeError
		rec.add("decode error %v", errors.As(err, &de))
	})
	loop(client.Events(context.Background(), d, note), rec, func(string) bool { return true })
	d.PostEvent(event("note", `not json`, ""), "")
	d.PostEvent(event("note", `"ok"`, ""), "")
	rec.expect(t, "decode error true", "loop ok ")
}

func TestEventsHeldEvents(t *testing.T) {
	t.Parallel()
	d := known(t, client.Limits{})
	d.PostEvent(event("note", `"early"`, "1"), "")
	delivered(t, d, "1")
	rec := newRecorder()
	loop(client.Events(context.Background(), d, note), rec, func(string) bool { return true })
	rec.expect(t, "loop early 1")
}

// Many posters, a loop and handlers coming and going, for the race
// detector.
func TestEventsConcurrent(t *testing.T) {
	t.Parallel()
	d := known(t, client.Limits{Events: 16, Bytes: 1 << 20})
	const n = 2000
	first := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var i int
		for s := range client.Events(ctx, d, note) {
			var v int
			fmt.Sscan(s, &v)
			if v != i {
				t.Errorf("loop got %d; want %d (in order)", v, i)
			}
			if i == 0 {
				close(first) // the loop's handler is in
			}
			i++
			if i == n {
				return
			}
		}
	}()
	d.PostEvent(event("note", `"0"`, ""), "")
	select {
	case <-first:
	case <-time.After(wait):
		t.Fatalf("the loop did not get the held event within %v", wait)
	}
	go func() {
		for range 50 {
			off := client.On(d, note, func(string, client.Meta) {})
			off()
		}
	}()
	for i := 1; i < n; i++ {
		d.SendEvent(event("note", fmt.Sprintf(`"%d"`, i), ""), "", nil)
	}
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("the loop did not get %d events within %v", n, wait)
	}
}
