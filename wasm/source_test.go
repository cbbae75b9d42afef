//go:build js && wasm

package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
	"github.com/ssekit/ssekit/wasm"
)

type price struct {
	Symbol string `json:"symbol"`
	Cents  int64  `json:"cents"`
}

var (
	priceTick = schema.Define[price]("price.tick")
	note      = schema.Define[string]("note")
	registry  = schema.MustRegistry(priceTick, note)
)

// pageOrigin is the origin of the page that runs the tests.
func pageOrigin(t testing.TB) string {
	t.Helper()
	s, err := get(t, get(t, safejs.Global(), "location"), "origin").String()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []wasm.Option
		want string // in the error
	}{
		{"native bad URL", "http://[::1/", nil, "SyntaxError"},
		{"fetch bad URL", "http://[::1/", []wasm.Option{wasm.WithFetch(wasm.Request{})}, "TypeError"},
		{"fetch ftp URL", "ftp://example.com/", []wasm.Option{wasm.WithFetch(wasm.Request{})}, "http and https URLs, not ftp"},
		{"fetch GET with a body", "/x", []wasm.Option{wasm.WithFetch(wasm.Request{Body: []byte("b")})}, "TypeError"},
		{"fetch bad header", "/x", []wasm.Option{wasm.WithFetch(wasm.Request{Header: map[string]string{"Bad Name": "x"}})}, "TypeError"},
		{"fetch bad credentials", "/x", []wasm.Option{wasm.WithFetch(wasm.Request{Credentials: "always"})}, `Credentials "always"`},
		{"fetch-only option without fetch", "/x", []wasm.Option{wasm.WithRetry(time.Second)}, "WithRetry needs WithFetch"},
		{"invalid backoff", "/x", []wasm.Option{wasm.WithFetch(wasm.Request{}), wasm.WithBackoff(wasm.Backoff{})}, "WithBackoff: Backoff.Multiplier 0"},
		{"nil registry", "/x", []wasm.Option{wasm.WithRegistry(nil)}, "WithRegistry(nil)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := wasm.Open(tt.url, tt.opts...)
			if err == nil {
				src.Close()
				t.Fatalf("Open(%q) = nil error; want one containing %q", tt.url, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "wasm: ") {
				t.Fatalf("Open(%q) = %v; want an error containing %q", tt.url, err, tt.want)
			}
		})
	}
	waitFor(t, wait, "no live Funcs", func() bool { return wasm.LiveFuncs() == 0 })
}

// Typed events decode into their Go type; one that does not decode is an
// error, and the stream goes on.
func TestTypedDecode(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			key := newKey(t)
			url := script(t, key, response{Hold: true, Body: "" +
				"event: price.tick\nid: 1\ndata: {\"symbol\":\"ACME\",\"cents\":1}\n\n" +
				"event: price.tick\nid: 2\ndata: {\"symbol\":\n\n" +
				"event: other\nid: 3\ndata: nobody listens\n\n" +
				"event: price.tick\nid: 4\ndata: {\"symbol\":\"ACME\",\"cents\":2}\n\n" +
				"data: plain\n\n"})
			src := open(t, url, tr.opts...)
			rec := newRecorder()
			origin := pageOrigin(t)
			src.OnOpen(func() { rec.add("open %v", src.ReadyState()) })
			src.OnError(func(err error) {
				var de *schema.DecodeError
				if errors.As(err, &de) {
					rec.add("decode error %s %q", de.Event, de.Data)
					return
				}
				rec.add("%s", errKind(err))
			})
			wasm.On(src, priceTick, func(p price, m wasm.Meta) {
				if m.Origin != origin {
					rec.add("origin %q; want %q", m.Origin, origin)
				}
				rec.add("%s %s %d id=%s", m.Type, p.Symbol, p.Cents, m.ID)
			})
			src.OnMessage(func(ev sse.Event) { rec.add("%s %q id=%s", ev.Type, ev.Data, ev.ID) })
			if got := src.ReadyState(); got != wasm.StateConnecting {
				t.Errorf("ReadyState() after Open = %v; want connecting", got)
			}
			rec.expect(t,
				"open open",
				"price.tick ACME 1 id=1",
				`decode error price.tick "{\"symbol\":"`,
				"price.tick ACME 2 id=4",
				`message "plain" id=4`,
			)
			if got := src.LastEventID(); got != "4" {
				t.Errorf("LastEventID() = %q; want %q", got, "4")
			}
			rec.none(t)
		})
	}
}

// open, a clean end (reconnect, error with CONNECTING), then a refusal
// (error with CLOSED, no further request), as in WPT
// eventsource/eventsource-close and eventsource/eventsource-reconnect.
func TestReadyStateTransitions(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			key := newKey(t)
			url := script(t, key,
				response{Body: "retry: 10\nid: a-1\ndata: first\n\n"},
				response{Body: "data: second\n\n", Hold: true},
			)
			src := open(t, url, tr.opts...)
			rec := newRecorder()
			src.OnOpen(func() { rec.add("open") })
			src.OnError(func(err error) { rec.add("%s", errKind(err)) })
			src.OnMessage(func(ev sse.Event) { rec.add("message %s id=%s %v", ev.Data, ev.ID, src.ReadyState()) })
			rec.expect(t,
				"open", "message first id=a-1 open", "error reconnecting",
				"open", "message second id=a-1 open",
			)
			unhold(t, key) // ends the held stream; the key's script is gone: 204
			rec.expect(t, "error reconnecting", "error closed")
			if got := src.ReadyState(); got != wasm.StateClosed {
				t.Errorf("ReadyState() after 204 = %v; want closed", got)
			}
			rec.none(t)
			reqs := requests(t, key)
			if len(reqs) != 1 || reqs[0].Header["Last-Event-Id"] != "a-1" {
				t.Errorf("requests after the hold = %+v; want one, with Last-Event-ID a-1", reqs)
			}
		})
	}
}

// Close in a handler: ReadyState is closed at once, no handler runs after
// it, not even for events already read (WPT eventsource/eventsource-close),
// and no error is reported for the abort.
func TestCloseInHandler(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			url := script(t, newKey(t), response{Hold: true, Body: "data: 1\n\ndata: 2\n\ndata: 3\n\n"})
			src := open(t, url, tr.opts...)
			rec := newRecorder()
			src.OnError(func(err error) { rec.add("%s", errKind(err)) })
			src.OnOpen(func() { rec.add("open") })
			src.OnMessage(func(ev sse.Event) {
				rec.add("message %s", ev.Data)
				if ev.Data == "1" {
					src.Close()
					src.Close()
					rec.add("closed %v", src.ReadyState())
				}
			})
			rec.expect(t, "open", "message 1", "closed closed")
			rec.none(t)
			waitFor(t, wait, "no live Funcs", func() bool { return wasm.LiveFuncs() == 0 })
		})
	}
}

// After a disconnection the source resumes with Last-Event-ID and the real
// ssekit server replays exactly what it missed.
func TestReconnectResumes(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			key := newKey(t)
			topic := key
			src := open(t, "_fixture/ssekit/events?topic="+topic+"&key="+key,
				append([]wasm.Option{wasm.WithRegistry(registry)}, tr.opts...)...)
			rec := newRecorder()
			src.OnOpen(func() { rec.add("open") })
			src.OnError(func(err error) { rec.add("%s", errKind(err)) })
			src.OnReset(func(reason string) { rec.add("reset %s", reason) })
			src.OnSchemaMismatch(func(server, client string) { rec.add("mismatch %s %s", server, client) })
			wasm.On(src, note, func(s string, m wasm.Meta) { rec.add("note %s %s", s, m.ID) })
			rec.expect(t, "open")

			id1 := publish(t, topic, "note", `"n1"`)
			id2 := publish(t, topic, "note", `"n2"`)
			rec.expect(t, "note n1 "+id1, "note n2 "+id2)
			disconnect(t)
			id3 := publish(t, topic, "note", `"n3"`) // most likely while disconnected
			id4 := publish(t, topic, "note", `"n4"`)
			rec.expect(t, "error reconnecting", "open", "note n3 "+id3, "note n4 "+id4)
			rec.none(t) // nothing twice, no reset, no mismatch (the fixture's server has no registry)
			if got := src.LastEventID(); got != id4 {
				t.Errorf("LastEventID() = %q; want %q", got, id4)
			}
			reqs := requests(t, key)
			if len(reqs) != 2 || reqs[0].Header["Last-Event-Id"] != "" || reqs[1].Header["Last-Event-Id"] != id2 {
				t.Errorf("requests = %+v; want two, the second with Last-Event-ID %s", reqs, id2)
			}
		})
	}
}

// A 204 stops the source for good (WPT eventsource/eventsource-close and
// eventsource/request-status-error).
func TestNoContentStops(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			key := newKey(t)
			src := open(t, script(t, key, response{Status: 204}), tr.opts...)
			rec := newRecorder()
			src.OnOpen(func() { rec.add("open") })
			src.OnError(func(err error) {
				var ce *wasm.ConnError
				errors.As(err, &ce)
				rec.add("%s %v", errKind(err), src.ReadyState())
				if tr.name == "fetch" && (ce == nil || ce.Status != 204) {
					rec.add("ConnError %+v; want Status 204", ce)
				}
			})
			rec.expect(t, "error closed closed")
			rec.none(t)
			if n := len(requests(t, key)); n != 1 {
				t.Errorf("%d requests; want 1 (no reconnection)", n)
			}
		})
	}
}

// Refused responses: the native EventSource fails on any of them (WPT
// eventsource/request-status-error and eventsource/format-mime-valid-bogus);
// the fetch transport fails on a wrong content type and a 4xx.
func TestRefusedResponses(t *testing.T) {
	tests := []struct {
		name string
		resp response
	}{
		{"500", response{Status: 500, Body: "data: x\n\n"}},
		{"404", response{Status: 404, Body: "data: x\n\n"}},
		{"text/html", response{ContentType: "text/html", Body: "data: x\n\n"}},
		{"no content type", response{NoContentType: true, Body: "data: x\n\n"}},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			if tr.name == "fetch" && tt.name == "500" {
				continue // retried: TestFetchRetriesServerErrors
			}
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				key := newKey(t)
				src := open(t, script(t, key, tt.resp, response{Body: "data: retried\n\n"}), tr.opts...)
				rec := newRecorder()
				src.OnOpen(func() { rec.add("open") })
				src.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
				src.OnError(func(err error) { rec.add("%s %v", errKind(err), src.ReadyState()) })
				rec.expect(t, "error closed closed")
				rec.none(t)
				if n := len(requests(t, key)); n != 1 {
					t.Errorf("%d requests; want 1 (no retry)", n)
				}
			})
		}
	}
}

// The fetch transport retries 5xx with backoff, honouring Retry-After, and
// then reads the stream.
func TestFetchRetriesServerErrors(t *testing.T) {
	key := newKey(t)
	url := script(t, key,
		response{Status: 500, Body: "data: never parsed\n\n"},
		response{Status: 503, Headers: map[string]string{"Retry-After": "1"}},
		response{Status: 429},
		response{Body: "data: ok\n\n", Hold: true},
	)
	src := open(t, url, fastFetch...)
	rec := newRecorder()
	src.OnOpen(func() { rec.add("open") })
	src.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
	src.OnError(func(err error) {
		var ce *wasm.ConnError
		if !errors.As(err, &ce) {
			rec.add("%s", errKind(err))
			return
		}
		rec.add("%s %d %s", errKind(err), ce.Status, ce.Error())
	})
	first := rec.next(t)
	if !strings.HasPrefix(first, "error reconnecting 500 wasm: HTTP 500 Internal Server Error; reconnecting in ") {
		t.Fatalf("first record = %q; want the 500, reconnecting", first)
	}
	if got, want := rec.next(t), "error reconnecting 503 wasm: HTTP 503 Service Unavailable; reconnecting in 1s"; got != want {
		t.Fatalf("second record = %q; want %q (Retry-After is a floor)", got, want)
	}
	if got := rec.next(t); !strings.HasPrefix(got, "error reconnecting 429 ") {
		t.Fatalf("third record = %q; want the 429", got)
	}
	rec.expect(t, "open", "message ok")
	reqs := requests(t, key)
	if len(reqs) != 4 {
		t.Fatalf("%d requests; want 4", len(reqs))
	}
	if gap := reqs[2].Time.Sub(reqs[1].Time); gap < 900*time.Millisecond {
		t.Errorf("the request after Retry-After: 1 came %v after the 503; want at least 1s", gap)
	}
}

// The fetch transport sends the method, body and headers on every request,
// Accept and no-store caching, and Last-Event-ID as UTF-8 on reconnection
// (WPT eventsource/format-field-id, eventsource/request-accept and
// eventsource/request-cache-control).
func TestFetchRequest(t *testing.T) {
	key := newKey(t)
	url := script(t, key,
		response{Body: "id: é…1\ndata: a\n\n"},
		response{Body: "data: b\n\n", Hold: true},
	)
	doc := get(t, safejs.Global(), "document")
	if err := doc.Set("cookie", "ssekit_test=1; path=/"); err != nil {
		t.Fatal(err)
	}
	body := `{"topics":["a"]}`
	src := open(t, url, append([]wasm.Option{wasm.WithFetch(wasm.Request{
		Method: "POST",
		Header: map[string]string{"Authorization": "Bearer tok", "Content-Type": "application/json", "X-Note": "ünï"},
		Body:   []byte(body),
	})}, fastFetch[1:]...)...)
	rec := newRecorder()
	src.OnMessage(func(ev sse.Event) { rec.add("message %s id=%s", ev.Data, ev.ID) })
	rec.expect(t, "message a id=é…1", "message b id=é…1")
	reqs := requests(t, key)
	if len(reqs) != 2 {
		t.Fatalf("%d requests; want 2", len(reqs))
	}
	for i, r := range reqs {
		h := r.Header
		if r.Method != "POST" || r.Body != body || h["Authorization"] != "Bearer tok" ||
			h["Content-Type"] != "application/json" || h["X-Note"] != "ünï" || h["Accept"] != "text/event-stream" {
			t.Errorf("request %d = %s %q %v; want POST with the body and headers", i, r.Method, r.Body, h)
		}
		if !strings.Contains(h["Cache-Control"], "no-cache") {
			t.Errorf("request %d: Cache-Control %q; want no-cache (cache mode no-store)", i, h["Cache-Control"])
		}
		if !strings.Contains(h["Cookie"], "ssekit_test=1") {
			t.Errorf("request %d: Cookie %q; want the page's cookie (same-origin credentials)", i, h["Cookie"])
		}
	}
	if got := reqs[0].Header["Last-Event-Id"]; got != "" {
		t.Errorf("first request: Last-Event-ID %q; want none", got)
	}
	if got := reqs[1].Header["Last-Event-Id"]; got != "é…1" {
		t.Errorf("second request: Last-Event-ID %q; want %q in UTF-8", got, "é…1")
	}

	// Credentials "omit" sends no cookie; a Last-Event-ID header is the
	// first request's.
	key2 := newKey(t)
	src2 := open(t, script(t, key2, response{Body: "data: c\n\n", Hold: true}),
		wasm.WithFetch(wasm.Request{Credentials: "omit", Header: map[string]string{"last-event-id": "from-storage"}}))
	rec2 := newRecorder()
	src2.OnMessage(func(ev sse.Event) { rec2.add("message %s id=%s", ev.Data, ev.ID) })
	rec2.expect(t, "message c id=from-storage")
	if got := src2.LastEventID(); got != "from-storage" {
		t.Errorf("LastEventID() = %q; want from-storage", got)
	}
	r := requests(t, key2)[0]
	if r.Header["Cookie"] != "" || r.Header["Last-Event-Id"] != "from-storage" || r.Method != "GET" {
		t.Errorf("request with Credentials omit = %s %v; want GET, no Cookie, Last-Event-ID from-storage", r.Method, r.Header)
	}
}

// The server's reset and a registry mismatch reach their handlers; the
// stream goes on.
func TestResetAndSchemaMismatch(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			url := script(t, newKey(t), response{Hold: true, Body: "" +
				"event: ssekit.hello\ndata: {\"fingerprint\":\"v1:stale\"}\n\n" +
				"event: ssekit.reset\nid: e-5\ndata: {\"reason\":\"expired\"}\n\n" +
				"data: live\n\n"})
			src := open(t, url, append([]wasm.Option{wasm.WithRegistry(registry)}, tr.opts...)...)
			rec := newRecorder()
			src.OnSchemaMismatch(func(server, client string) { rec.add("mismatch %s %v", server, client == registry.Fingerprint()) })
			src.OnReset(func(reason string) { rec.add("reset %s", reason) })
			src.OnMessage(func(ev sse.Event) { rec.add("message %s id=%s", ev.Data, ev.ID) })
			rec.expect(t, "mismatch v1:stale true", "reset expired", "message live id=e-5")
		})
	}
}

// A Last-Event-ID from another epoch makes the real server reset.
func TestFetchResetFromServer(t *testing.T) {
	key := newKey(t)
	src := open(t, "_fixture/ssekit/events?topic="+key, append([]wasm.Option{
		wasm.WithFetch(wasm.Request{Header: map[string]string{"Last-Event-ID": "oldepoch-7"}}),
	}, fastFetch[1:]...)...)
	rec := newRecorder()
	src.OnReset(func(reason string) { rec.add("reset %s", reason) })
	wasm.On(src, note, func(s string, m wasm.Meta) { rec.add("note %s", s) })
	rec.expect(t, "reset "+schema.ResetEpoch)
	publish(t, key, "note", `"after"`)
	rec.expect(t, "note after")
}

// The fetch transport reads events larger than a body chunk, and fails an
// event over the limit rather than read it again on every reconnection.
func TestFetchLargeEvents(t *testing.T) {
	big := strings.Repeat("x", 300<<10)
	url := script(t, newKey(t), response{Hold: true, Body: "data: " + big + "\n\ndata: small\n\n"})
	src := open(t, url, fastFetch...)
	rec := newRecorder()
	src.OnMessage(func(ev sse.Event) { rec.add("message %d", len(ev.Data)) })
	rec.expect(t, fmt.Sprintf("message %d", len(big)), "message 5")

	key := newKey(t)
	src2 := open(t, script(t, key, response{Hold: true, Body: "data: small\n\ndata: " + big + "\n\n"}),
		append([]wasm.Option{wasm.WithMaxEventSize(1000)}, fastFetch...)...)
	rec2 := newRecorder()
	src2.OnMessage(func(ev sse.Event) { rec2.add("message %d", len(ev.Data)) })
	src2.OnError(func(err error) {
		var le *sse.LimitError
		rec2.add("%s limit=%v", errKind(err), errors.As(err, &le))
	})
	rec2.expect(t, "message 5", "error closed limit=true")
	rec2.none(t)
	if n := len(requests(t, key)); n != 1 {
		t.Errorf("%d requests; want 1", n)
	}
}

// A network error makes the fetch transport retry with backoff.
func TestFetchNetworkError(t *testing.T) {
	src := open(t, "http://127.0.0.1:9/", fastFetch...) // the discard port: refused, or blocked as unsafe
	rec := newRecorder()
	src.OnError(func(err error) {
		var ce *wasm.ConnError
		errors.As(err, &ce)
		rec.add("%s status=%d err=%v", errKind(err), ce.Status, ce.Err != nil)
	})
	rec.expect(t, "error reconnecting status=0 err=true", "error reconnecting status=0 err=true")
	src.Close()
	waitFor(t, wait, "no live Funcs", func() bool { return wasm.LiveFuncs() == 0 })
}

// Events is a range loop that removes its handler when it breaks, and ends
// when the source is closed.
func TestEvents(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			key := newKey(t)
			url := script(t, key, response{Hold: true, Body: "event: note\nid: 1\ndata: \"a\"\n\nevent: note\nid: 2\ndata: \"b\"\n\n"})
			src := open(t, url, append([]wasm.Option{wasm.WithRegistry(registry)}, tr.opts...)...)
			var got []string
			ended := make(chan struct{})
			go func() {
				defer close(ended)
				for v, m := range wasm.Events(context.Background(), src, note) {
					got = append(got, v+" "+m.ID)
					if v == "b" {
						break
					}
				}
			}()
			select {
			case <-ended:
			case <-time.After(wait):
				t.Fatalf("the loop did not break within %v", wait)
			}
			if strings.Join(got, ",") != "a 1,b 2" {
				t.Fatalf("the loop got %q; want a 1, b 2", got)
			}

			// A loop ends when the source is closed.
			rec := newRecorder()
			ended = make(chan struct{})
			go func() {
				defer close(ended)
				for v := range wasm.Events(context.Background(), src, note) {
					rec.add("%s", v)
				}
			}()
			src.Close()
			select {
			case <-ended:
			case <-time.After(wait):
				t.Fatal("the loop did not end within the wait after Close")
			}
		})
	}
}

// Opening and closing many sources, at every stage of their connection,
// leaves no JavaScript function and no goroutine behind.
func TestOpenCloseCycles(t *testing.T) {
	waitFor(t, wait, "no live Funcs before the test", func() bool { return wasm.LiveFuncs() == 0 })
	goroutines := runtime.NumGoroutine()
	topic := newKey(t)
	for i := range 200 {
		tr := transports[i%2]
		src, err := wasm.Open("_fixture/ssekit/events?topic="+topic, tr.opts...)
		if err != nil {
			t.Fatalf("cycle %d: Open = %v", i, err)
		}
		opened := make(chan struct{}, 1)
		src.OnOpen(func() {
			select {
			case opened <- struct{}{}:
			default:
			}
		})
		src.OnError(func(error) {})
		wasm.On(src, note, func(string, wasm.Meta) {})
		if i%4 < 2 { // half of them once open, half at once
			select {
			case <-opened:
			case <-time.After(wait):
				t.Fatalf("cycle %d (%s): not open within %v", i, tr.name, wait)
			}
		}
		src.Close()
		if got := src.ReadyState(); got != wasm.StateClosed {
			t.Fatalf("cycle %d: ReadyState() after Close = %v", i, got)
		}
	}
	waitFor(t, wait, "no live Funcs", func() bool { return wasm.LiveFuncs() == 0 })
	waitFor(t, wait, "the goroutines of the sources to end", func() bool { return runtime.NumGoroutine() <= goroutines })
}
