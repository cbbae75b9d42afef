package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// delivered waits until the dispatcher has delivered an event posted last
// with the given ID: everything posted before it has been delivered too.
func delivered(t testing.TB, d *client.Dispatcher, id string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for d.LastEventID() != id {
		if time.Now().After(deadline) {
			t.Fatalf("LastEventID() = %q after %v; want %q", d.LastEventID(), wait, id)
		}
		time.Sleep(time.Millisecond)
	}
}

// A page that awaits something between Open and its registrations gets the
// connection's state and the held events of its registry's types.
func TestDispatcherLateRegistration(t *testing.T) {
	t.Parallel()
	local := registry.Fingerprint()
	d, _ := startWith(t, client.Options{Fingerprint: local, Known: registry.Names()})
	d.PostOpen()
	d.PostEvent(event(schema.HelloEvent, `{"fingerprint":"v1:stale"}`, "h-1"), "")
	d.PostEvent(event(schema.ResetEvent, `{"reason":"expired"}`, "r-1"), "")
	d.PostEvent(event("note", `"a"`, "e-1"), "o")
	d.PostEvent(event("unknown", `"dropped: not a registry type"`, "e-2"), "o")
	d.PostEvent(event("note", `"b"`, "e-3"), "o")
	d.PostEvent(event("price.tick", `{"symbol":"ACME","cents":1}`, "e-4"), "o")
	d.PostEvent(event("message", "dropped: never held", "e-5"), "o")
	delivered(t, d, "e-5")

	rec := newRecorder()
	d.OnOpen(func() { rec.add("open") })
	d.OnSchemaMismatch(func(server, client string) { rec.add("mismatch %s %v", server, client == local) })
	d.OnReset(func(reason string) { rec.add("reset %s", reason) })
	d.OnError(func(err error) { rec.add("error %v", err) }) // no error so far: nothing
	client.On(d, note, func(s string, m client.Meta) { rec.add("note %s %s %s", s, m.ID, m.Origin) })
	d.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
	rec.expect(t,
		"open",
		"mismatch v1:stale true",
		"reset expired",
		"note a e-1 o",
		"note b e-3 o",
	)
	rec.none(t)

	// Later handlers get the state again, but not what others received.
	client.On(d, priceTick, func(p price, m client.Meta) { rec.add("price %d %s", p.Cents, m.ID) })
	d.OnOpen(func() { rec.add("open 2") })
	d.OnSchemaMismatch(func(server, _ string) { rec.add("mismatch 2 %s", server) })
	d.OnReset(func(reason string) { rec.add("reset 2 %s", reason) }) // taken by the first
	client.On(d, note, func(s string, _ client.Meta) { rec.add("third note %s", s) })
	rec.expect(t, "price 1 e-4", "open 2", "mismatch 2 v1:stale")

	// Live events go to every handler, after what was replayed.
	d.PostEvent(event("note", `"c"`, "e-6"), "o")
	rec.expect(t, "note c e-6 o", "third note c")
	rec.none(t)
}

// Handlers registered together, before the dispatcher gets to them, share
// the held events. (Registered from a handler, they are together for sure.)
func TestDispatcherHeldForHandlersRegisteredTogether(t *testing.T) {
	t.Parallel()
	d, _ := startWith(t, client.Options{Known: registry.Names()})
	d.PostEvent(event("note", `"a"`, "1"), "")
	d.PostEvent(event("note", `"b"`, "2"), "")
	rec := newRecorder()
	d.OnMessage(func(sse.Event) {
		client.On(d, note, func(s string, _ client.Meta) { rec.add("first %s", s) })
		client.On(d, note, func(s string, _ client.Meta) { rec.add("second %s", s) })
	})
	d.PostEvent(event("message", "register", "3"), "")
	rec.expect(t, "first a", "second a", "first b", "second b")
	rec.none(t)
}

func TestDispatcherLateErrorAndOpen(t *testing.T) {
	t.Parallel()
	d, _ := start(t, "")
	lost := errors.New("lost")
	d.PostOpen()
	d.PostError(lost)
	d.PostID("mark-1")
	delivered(t, d, "mark-1")
	rec := newRecorder()
	d.OnOpen(func() { rec.add("open") }) // the connection was lost since: nothing
	d.OnError(func(err error) { rec.add("error %v", err) })
	rec.expect(t, "error lost")
	rec.none(t)

	d.PostOpen()
	d.PostID("mark-2")
	rec.expect(t, "open")
	delivered(t, d, "mark-2")
	d.OnError(func(err error) { rec.add("late error %v", err) }) // opened since: nothing
	d.OnOpen(func() { rec.add("late open") })
	rec.expect(t, "late open")
	rec.none(t)
}

// A hello that matches clears an earlier mismatch.
func TestDispatcherLateMismatchCleared(t *testing.T) {
	t.Parallel()
	local := registry.Fingerprint()
	d, _ := start(t, local)
	d.PostEvent(event(schema.HelloEvent, `{"fingerprint":"v1:stale"}`, "1"), "")
	d.PostEvent(event(schema.HelloEvent, `{"fingerprint":"`+local+`"}`, "2"), "")
	delivered(t, d, "2")
	rec := newRecorder()
	d.OnSchemaMismatch(func(server, _ string) { rec.add("mismatch %s", server) })
	rec.none(t)
}

// Held events are bounded: past the limits they are dropped, reported, and
// holding stops.
func TestDispatcherHoldLimit(t *testing.T) {
	t.Parallel()
	d, _ := startWith(t, client.Options{Known: registry.Names(), Limits: client.Limits{Events: 3, Bytes: 1 << 20}})
	// SendEvent: the queue has the same limits as what is held.
	for i, data := range []string{`"1"`, `"2"`, `"3"`} {
		d.SendEvent(event("note", data, string(rune('a'+i))), "", nil)
	}
	d.SendEvent(event("price.tick", `{"cents":4}`, "d"), "", nil) // the fourth: over the limit
	d.SendEvent(event("note", `"5"`, "e"), "", nil)               // after: not held
	delivered(t, d, "e")
	rec := newRecorder()
	d.OnError(func(err error) {
		var ue *client.UnhandledError
		if !errors.As(err, &ue) {
			rec.add("error %T %v", err, err)
			return
		}
		rec.add("unhandled %d %v", ue.Dropped, ue.Types)
	})
	client.On(d, note, func(s string, _ client.Meta) { rec.add("note %s", s) })
	rec.expect(t, "unhandled 4 [note price.tick]")
	rec.none(t)
	d.PostEvent(event("note", `"6"`, "f"), "")
	rec.expect(t, "note 6")

	var ue client.UnhandledError = client.UnhandledError{Dropped: 4, Types: []string{"note", "price.tick"}}
	if got, want := ue.Error(), "client: dropped 4 events that arrived before any handler for them (types note, price.tick); events with no handler are dropped from now on"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

// A handler registered by a handler starts with the next notice.
func TestDispatcherRegisterInHandler(t *testing.T) {
	t.Parallel()
	d, _ := start(t, "")
	rec := newRecorder()
	var once bool
	client.On(d, note, func(s string, _ client.Meta) {
		rec.add("first %s", s)
		if !once {
			once = true
			client.On(d, note, func(s string, _ client.Meta) { rec.add("second %s", s) })
		}
	})
	d.PostEvent(event("note", `"a"`, ""), "")
	d.PostEvent(event("note", `"b"`, ""), "")
	rec.expect(t, "first a", "first b", "second b")
	rec.none(t)
}

// A handler removed before it took effect is never called.
func TestDispatcherOffBeforeActive(t *testing.T) {
	t.Parallel()
	d := client.NewDispatcher(client.Options{Known: registry.Names()})
	rec := newRecorder()
	d.PostOpen()
	d.PostEvent(event("note", `"held"`, "1"), "")
	off := client.On(d, note, func(s string, _ client.Meta) { rec.add("note %s", s) })
	offOpen := d.OnOpen(func() { rec.add("open") })
	off()
	offOpen()
	done := make(chan struct{})
	go func() { d.Run(); close(done) }()
	t.Cleanup(func() { d.Close(); waitClosed(t, done) })
	d.PostID("end")
	delivered(t, d, "end")
	rec.none(t)
}
