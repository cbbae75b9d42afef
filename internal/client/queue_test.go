package client_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
)

func TestLimitsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		l    client.Limits
		want string // "" for valid
	}{
		{client.DefaultLimits(), ""},
		{client.Limits{Events: 1, Bytes: 1}, ""},
		{client.Limits{Events: 0, Bytes: 1}, "client: Limits.Events 0 is not positive"},
		{client.Limits{Events: 1, Bytes: -1}, "client: Limits.Bytes -1 is not positive"},
	}
	for _, tt := range tests {
		err := tt.l.Validate()
		if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
			t.Errorf("%+v.Validate() = %v; want %q", tt.l, err, tt.want)
		}
	}
}

// gate is a handler that blocks until released, and records what it got.
type gate struct {
	release chan struct{}
	rec     *recorder
}

func newGate(t testing.TB) *gate {
	g := &gate{release: make(chan struct{}), rec: newRecorder()}
	t.Cleanup(g.open) // before the dispatcher's cleanup waits for Run
	return g
}

func (g *gate) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

func (g *gate) handle(s string, _ client.Meta) {
	g.rec.add("note %s", s)
	<-g.release
}

// The queue holds at most Limits.Events events, and at most Limits.Bytes
// bytes but for an event alone; PostEvent refuses more.
func TestDispatcherQueueBound(t *testing.T) {
	t.Parallel()
	d, _ := startWith(t, client.Options{Limits: client.Limits{Events: 3, Bytes: 100}})
	g := newGate(t)
	client.On(d, note, g.handle)
	if !d.PostEvent(event("note", `"first"`, "1"), "") {
		t.Fatal("PostEvent(first) = false")
	}
	g.rec.expect(t, "note first") // in the handler, no longer queued
	for i := range 3 {
		if !d.PostEvent(event("note", fmt.Sprintf(`"%d"`, i), ""), "") {
			t.Fatalf("PostEvent(%d) = false; want true (3 fit)", i)
		}
	}
	if d.PostEvent(event("note", `"over"`, ""), "") {
		t.Fatal("PostEvent(a fourth) = true; want false")
	}
	if events, bytes := d.Queued(); events != 3 || bytes != 3*len(`note"0"`) {
		t.Errorf("Queued() = %d, %d; want 3, %d", events, bytes, 3*len(`note"0"`))
	}
	d.PostOpen() // never refused
	g.open()
	g.rec.expect(t, "note 0", "note 1", "note 2")

	// Bytes: an event larger than the limit is accepted alone.
	big := `"` + strings.Repeat("x", 200) + `"`
	d.PostID("mark")
	delivered(t, d, "mark")
	if !d.PostEvent(event("note", big, ""), "") {
		t.Fatal("PostEvent(an event over Bytes, alone) = false; want true")
	}
	if d.PostEvent(event("note", `"small"`, ""), "") {
		t.Fatal("PostEvent(an event beside one over Bytes) = true; want false")
	}
}

// SendEvent waits for room; WaitCaughtUp for half of the limit.
func TestDispatcherSendEventWaits(t *testing.T) {
	t.Parallel()
	d, _ := startWith(t, client.Options{Limits: client.Limits{Events: 4, Bytes: 1 << 20}})
	g := newGate(t)
	client.On(d, note, g.handle)
	d.PostEvent(event("note", `"0"`, ""), "")
	g.rec.expect(t, "note 0")
	for i := 1; i <= 4; i++ {
		d.PostEvent(event("note", fmt.Sprintf(`"%d"`, i), ""), "")
	}
	sent := make(chan bool)
	go func() { sent <- d.SendEvent(event("note", `"5"`, ""), "", nil) }()
	caughtUp := make(chan bool)
	go func() { caughtUp <- d.WaitCaughtUp(nil) }()
	select {
	case <-sent:
		t.Fatal("SendEvent returned while the queue was full")
	case <-caughtUp:
		t.Fatal("WaitCaughtUp returned with 4 of 4 queued")
	case <-time.After(20 * time.Millisecond):
	}
	g.open()
	if ok := <-sent; !ok {
		t.Fatal("SendEvent = false; want true once there was room")
	}
	if ok := <-caughtUp; !ok {
		t.Fatal("WaitCaughtUp = false; want true")
	}
	g.rec.expect(t, "note 1", "note 2", "note 3", "note 4", "note 5")

	// Both give up when stop is closed or the dispatcher is closed.
	stop := make(chan struct{})
	close(stop)
	d2, _ := startWith(t, client.Options{Limits: client.Limits{Events: 1, Bytes: 1 << 20}})
	g2 := newGate(t) // after d2: its cleanup runs first

	client.On(d2, note, g2.handle)
	d2.PostEvent(event("note", `"a"`, ""), "")
	g2.rec.expect(t, "note a")
	d2.PostEvent(event("note", `"b"`, ""), "")
	if d2.SendEvent(event("note", `"c"`, ""), "", stop) {
		t.Error("SendEvent with stop closed = true; want false")
	}
	if d2.WaitCaughtUp(stop) {
		t.Error("WaitCaughtUp with stop closed = true; want false")
	}
	go d2.Close()
	if d2.SendEvent(event("note", `"c"`, ""), "", nil) {
		t.Error("SendEvent after Close = true; want false")
	}
}

// LastEventID follows what has been delivered, from the options' ID.
func TestDispatcherLastEventID(t *testing.T) {
	t.Parallel()
	d := client.NewDispatcher(client.Options{LastEventID: "from-snapshot"})
	if got := d.LastEventID(); got != "from-snapshot" {
		t.Fatalf("LastEventID() before Run = %q; want from-snapshot", got)
	}
	g := newGate(t)
	client.On(d, note, g.handle)
	done := make(chan struct{})
	go func() { d.Run(); close(done) }()
	t.Cleanup(func() { d.Close(); waitClosed(t, done) })
	d.PostEvent(event("note", `"a"`, "e-1"), "")
	g.rec.expect(t, "note a")
	d.PostEvent(event("note", `"b"`, "e-2"), "")
	d.PostID("e-3")
	if got := d.LastEventID(); got != "e-1" {
		t.Errorf("LastEventID() while e-1 is handled = %q; want e-1 (e-2 is only queued)", got)
	}
	g.open()
	delivered(t, d, "e-3")
}

// Ended is closed once the end error has been delivered, after what came
// before it.
func TestDispatcherEnded(t *testing.T) {
	t.Parallel()
	d, _ := start(t, "")
	rec := newRecorder()
	client.On(d, note, func(s string, _ client.Meta) { rec.add("note %s", s) })
	d.OnError(func(err error) { rec.add("error %v", err) })
	d.PostEvent(event("note", `"last"`, ""), "")
	d.PostEnd(errors.New("gone for good"))
	rec.expect(t, "note last", "error gone for good")
	select {
	case <-d.Ended():
	case <-time.After(wait):
		t.Fatal("Ended() not closed after the end error was delivered")
	}
	d2 := client.NewDispatcher(client.Options{})
	d2.Close()
	select {
	case <-d2.Ended():
	default:
		t.Error("Ended() not closed by Close")
	}
}

func TestNewDispatcherPanicsOnBadLimits(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "client: Limits.Events") {
			t.Errorf("NewDispatcher with bad limits: panic %v; want one about Limits.Events", r)
		}
	}()
	client.NewDispatcher(client.Options{Limits: client.Limits{Events: -1, Bytes: 1}})
}
