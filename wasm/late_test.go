//go:build js && wasm

package wasm_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/shared/sse"
	"github.com/ssekit/ssekit/wasm"
)

// A page that awaits something between Open and its registrations loses
// neither the connection's state nor the first events of its registry's
// types.
func TestLateRegistration(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			url := script(t, newKey(t), response{Hold: true, Body: "" +
				"event: ssekit.hello\nid: h-0\ndata: {\"fingerprint\":\"v1:stale\"}\n\n" +
				"event: ssekit.reset\nid: e-1\ndata: {\"reason\":\"expired\"}\n\n" +
				"event: note\nid: e-2\ndata: \"first\"\n\n" +
				"event: other\nid: e-3\ndata: not in the registry\n\n" +
				"event: price.tick\nid: e-4\ndata: {\"symbol\":\"ACME\",\"cents\":1}\n\n" +
				"event: note\nid: e-5\ndata: \"second\"\n\n"})
			src := open(t, url, append([]wasm.Option{wasm.WithRegistry(registry)}, tr.opts...)...)
			// The page awaits something: everything arrives meanwhile.
			waitFor(t, wait, "the source to take in the events", func() bool {
				return src.ReadyState() == wasm.StateOpen && src.LastEventID() == "e-5"
			})
			rec := newRecorder()
			src.OnOpen(func() { rec.add("open") })
			src.OnSchemaMismatch(func(server, _ string) { rec.add("mismatch %s", server) })
			src.OnReset(func(reason string) { rec.add("reset %s", reason) })
			src.OnError(func(err error) { rec.add("%s", errKind(err)) })
			wasm.On(src, note, func(s string, m wasm.Meta) { rec.add("note %s %s", s, m.ID) })
			rec.expect(t, "open", "mismatch v1:stale", "reset expired", "note first e-2", "note second e-5")
			wasm.On(src, priceTick, func(p price, m wasm.Meta) { rec.add("price %d %s", p.Cents, m.ID) })
			rec.expect(t, "price 1 e-4")
			rec.none(t)
		})
	}
}

// A source that failed before any handler existed reports it to the first
// error handler.
func TestLateErrorHandler(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			src := open(t, script(t, newKey(t), response{Status: 404}), tr.opts...)
			waitFor(t, wait, "the source to fail", func() bool { return src.ReadyState() == wasm.StateClosed })
			rec := newRecorder()
			src.OnError(func(err error) { rec.add("%s", errKind(err)) })
			rec.expect(t, "error closed")
			rec.none(t)
		})
	}
}

// WithLastEventID starts the stream from a snapshot's cursor: the real
// server replays what came after it, nothing before, nothing twice.
func TestWithLastEventID(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			key := newKey(t)
			topic := key
			id1 := publish(t, topic, "note", `"in the snapshot"`)
			id2 := publish(t, topic, "note", `"after it"`)
			src := open(t, "_fixture/ssekit/events?topic="+topic+"&key="+key,
				append([]wasm.Option{wasm.WithRegistry(registry), wasm.WithLastEventID(id1)}, tr.opts...)...)
			if got := src.LastEventID(); got != id1 {
				t.Errorf("LastEventID() right after Open = %q; want %q", got, id1)
			}
			rec := newRecorder()
			src.OnReset(func(reason string) { rec.add("reset %s", reason) })
			wasm.On(src, note, func(s string, m wasm.Meta) { rec.add("note %s %s", s, m.ID) })
			rec.expect(t, "note after it "+id2)
			id3 := publish(t, topic, "note", `"live"`)
			rec.expect(t, "note live "+id3)
			rec.none(t)

			reqs := requests(t, key)
			if len(reqs) != 1 {
				t.Fatalf("%d requests; want 1", len(reqs))
			}
			switch tr.name {
			case "native":
				u, err := url.Parse(reqs[0].URL)
				if err != nil {
					t.Fatal(err)
				}
				if q := u.Query(); q.Get("lastEventId") != id1 || q.Get("heartbeat") != "event" || q.Get("topic") != topic {
					t.Errorf("native request %s; want topic, lastEventId=%s and heartbeat=event in the query", reqs[0].URL, id1)
				}
			case "fetch":
				if got := reqs[0].Header["Last-Event-Id"]; got != id1 {
					t.Errorf("fetch request: Last-Event-ID %q; want %q", got, id1)
				}
				if strings.Contains(reqs[0].URL, "lastEventId") || strings.Contains(reqs[0].URL, "heartbeat") {
					t.Errorf("fetch request %s: the fetch transport adds nothing to the URL", reqs[0].URL)
				}
			}
		})
	}
}

// The native transport takes the position of a URL built by hand as its
// own, and replaces it when it reconnects by itself.
func TestNativeURLPosition(t *testing.T) {
	key := newKey(t)
	topic := key
	id1 := publish(t, topic, "note", `"old"`)
	id2 := publish(t, topic, "note", `"new"`)
	src := open(t, "_fixture/ssekit/events?topic="+topic+"&key="+key+"&lastEventId="+url.QueryEscape(id1))
	if got := src.LastEventID(); got != id1 {
		t.Errorf("LastEventID() = %q; want the URL's %q", got, id1)
	}
	rec := newRecorder()
	wasm.On(src, note, func(s string, m wasm.Meta) { rec.add("note %s", s) })
	rec.expect(t, "note new")
	if got := src.LastEventID(); got != id2 {
		t.Errorf("LastEventID() = %q; want %q", got, id2)
	}
}

// The native transport asks for heartbeats as events, which never reach
// the handlers and keep the last event ID.
func TestNativeHeartbeatEvents(t *testing.T) {
	url := script(t, newKey(t), response{Hold: true, Body: "" +
		"event: ssekit.hello\nid: p-1\ndata: {\"heartbeat\":60000}\n\n" +
		"event: ssekit.heartbeat\ndata: \n\n" +
		"data: after\n\n"})
	src := open(t, url)
	rec := newRecorder()
	src.OnMessage(func(ev sse.Event) { rec.add("%s %s id=%s", ev.Type, ev.Data, ev.ID) })
	rec.expect(t, "message after id=p-1")
	rec.none(t)
}

// The native transport listens to every type the hello lists, handled or
// not: each counts as a sign of life and moves the last event ID.
func TestNativeListensToServerEvents(t *testing.T) {
	url := script(t, newKey(t), response{Hold: true, Body: "" +
		"event: ssekit.hello\nid: p-1\ndata: {\"events\":[\"unhandled\"]}\n\n" +
		"event: unhandled\nid: u-1\ndata: nobody handles it\n\n"})
	src := open(t, url)
	waitFor(t, wait, "the unhandled event to move the last event ID", func() bool { return src.LastEventID() == "u-1" })
}

// Options are checked by Open, which names the bad one.
func TestOpenOptionErrors(t *testing.T) {
	fetchFunc := wasm.WithFetchFunc(func(context.Context) (wasm.Request, error) { return wasm.Request{}, nil })
	tests := []struct {
		name string
		opts []wasm.Option
		want string
	}{
		{"line break in the ID", []wasm.Option{wasm.WithLastEventID("a\nb")}, `WithLastEventID("a\nb"): an event ID cannot contain NUL, CR or LF`},
		{"NUL in the ID", []wasm.Option{wasm.WithLastEventID("a\x00")}, "WithLastEventID"},
		{"two IDs", []wasm.Option{wasm.WithLastEventID("a"), wasm.WithFetch(wasm.Request{Header: map[string]string{"Last-Event-ID": "b"}})}, `WithLastEventID("a") and a Last-Event-ID header "b" in WithFetch: give one`},
		{"nil request function", []wasm.Option{wasm.WithFetchFunc(nil)}, "WithFetchFunc(nil)"},
		{"both fetch options", []wasm.Option{wasm.WithFetch(wasm.Request{}), fetchFunc}, "WithFetch and WithFetchFunc: give one"},
		{"limits", []wasm.Option{wasm.WithLimits(wasm.Limits{Events: 0, Bytes: 10})}, "WithLimits: Limits.Events 0 is not positive"},
		{"fetch-only with the native transport", []wasm.Option{wasm.WithBackoff(wasm.DefaultBackoff())}, "WithBackoff needs WithFetch or WithFetchFunc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := wasm.Open("/x", tt.opts...)
			if err == nil {
				src.Close()
				t.Fatalf("Open = nil error; want one containing %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), "wasm: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v; want an error containing %q", err, tt.want)
			}
		})
	}
	// The same ID twice is no conflict, and WithFetchFunc takes the
	// fetch-only options.
	for _, opts := range [][]wasm.Option{
		{wasm.WithLastEventID("a"), wasm.WithFetch(wasm.Request{Header: map[string]string{"Last-Event-ID": "a"}})},
		{fetchFunc, wasm.WithRetry(time.Second)},
	} {
		src, err := wasm.Open(script(t, newKey(t)), opts...)
		if err != nil {
			t.Errorf("Open = %v; want no error", err)
			continue
		}
		src.Close()
	}
	waitFor(t, wait, "no live Funcs", func() bool { return wasm.LiveFuncs() == 0 })
}

// errText renders an error with its server reason, for the tests of
// refusals.
func errText(err error) string {
	var ce *wasm.ConnError
	if !errors.As(err, &ce) {
		return errKind(err)
	}
	return errKind(err) + " " + ce.Reason + " [" + ce.Body + "]"
}
