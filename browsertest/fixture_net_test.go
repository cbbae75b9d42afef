package browsertest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/internal/client"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// fresh returns a client with a connection per request, so that a proxy's
// state applies to each.
func fresh(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, ctx context.Context, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

type next struct {
	ev  sse.Event
	err error
}

// reader reads a decoder's events on a goroutine of its own, until an
// error, so that a test can wait for one with a deadline.
type reader chan next

func newReader(d *sse.Decoder) reader {
	ch := make(reader, 100)
	go func() {
		for {
			ev, err := d.Next()
			ch <- next{ev, err}
			if err != nil {
				close(ch)
				return
			}
		}
	}()
	return ch
}

// within returns the next event, or ok false if none comes within d.
func (r reader) within(d time.Duration) (ev sse.Event, err error, ok bool) {
	select {
	case n, open := <-r:
		if !open {
			return sse.Event{}, nil, true
		}
		return n.ev, n.err, true
	case <-time.After(d):
		return sse.Event{}, nil, false
	}
}

// The second endpoint announces its heartbeat and sends heartbeat events to
// a client that asks; its CORS lets other origins in.
// wait bounds the waits of these tests for what should happen.
const wait = 10 * time.Second

func TestFixtureHeartbeatEndpoint(t *testing.T) {
	t.Parallel()
	base := fixtureServer(t)
	ctx := testContext(t)
	resp, err := get(t, fresh(t), ctx, base+"/ssekit/heartbeat/events?topic=hb&heartbeat=event")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := newReader(sse.NewDecoder(resp.Body))
	hello, err, _ := r.within(wait)
	if err != nil || hello.Type != schema.HelloEvent {
		t.Fatalf("first event = %+v, %v; want the hello", hello, err)
	}
	if got := client.HelloHeartbeat(hello.Data); got != browsertest.FixtureHeartbeat {
		t.Errorf("the hello announces %v; want %v", got, browsertest.FixtureHeartbeat)
	}
	ev, err, ok := r.within(3 * browsertest.FixtureHeartbeat)
	if !ok || err != nil || ev.Type != schema.HeartbeatEvent {
		t.Errorf("after the hello: %+v, %v (arrived %v); want a heartbeat event within %v", ev, err, ok, 3*browsertest.FixtureHeartbeat)
	}

	pre := do(t, ctx, "OPTIONS", base+"/ssekit/heartbeat/events?topic=hb", "", map[string]string{
		"Origin": "http://other.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "last-event-id",
	})
	pre.Body.Close()
	if pre.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers")), "last-event-id") {
		t.Errorf("preflight = %s %v; want any origin, and Last-Event-ID allowed", pre.Status, pre.Header)
	}
}

func TestFixtureSequence(t *testing.T) {
	t.Parallel()
	base := fixtureServer(t)
	ctx := testContext(t)
	resp := do(t, ctx, "GET", base+"/ssekit/events?topic=s", "", nil)
	defer resp.Body.Close()
	d := sse.NewDecoder(resp.Body)
	if ev, err := d.Next(); err != nil || ev.Type != schema.HelloEvent {
		t.Fatalf("first event = %+v, %v; want the hello", ev, err)
	}
	if r := do(t, ctx, "POST", base+"/ssekit/sequence?topic=s&type=seq&n=5&every=1ms", "", nil); r.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /ssekit/sequence = %s: %s", r.Status, readAll(t, r))
	}
	var last string
	for i := 1; i <= 5; i++ {
		ev, err := d.Next()
		if err != nil || ev.Type != "seq" || ev.Data != string(rune('0'+i)) {
			t.Fatalf("event %d = %+v, %v; want seq %d", i, ev, err, i)
		}
		last = ev.ID
	}
	var st browsertest.FixtureSequence
	if err := json.Unmarshal([]byte(readAll(t, do(t, ctx, "DELETE", base+"/ssekit/sequence?topic=s", "", nil))), &st); err != nil {
		t.Fatal(err)
	}
	if st != (browsertest.FixtureSequence{Published: 5, LastID: last, Done: true}) {
		t.Errorf("DELETE /ssekit/sequence = %+v; want 5 published, the last %s, done", st, last)
	}
	for _, tt := range []struct {
		method, query string
		status        int
	}{
		{"GET", "topic=s", http.StatusNotFound}, // deleted
		{"POST", "topic=s&n=-1", http.StatusBadRequest},
		{"POST", "topic=s&every=soon", http.StatusBadRequest},
		{"POST", "n=3", http.StatusBadRequest},
	} {
		if r := do(t, ctx, tt.method, base+"/ssekit/sequence?"+tt.query, "", nil); r.StatusCode != tt.status {
			t.Errorf("%s /ssekit/sequence?%s = %s; want %d", tt.method, tt.query, r.Status, tt.status)
		}
	}
	do(t, ctx, "POST", base+"/ssekit/sequence?topic=u", "", nil).Body.Close() // until stopped
	if r := do(t, ctx, "POST", base+"/ssekit/sequence?topic=u", "", nil); r.StatusCode != http.StatusConflict {
		t.Errorf("a second sequence on a topic = %s; want 409", r.Status)
	}
}

// A proxy forwards, blackholes (open connections dead for good, new ones
// held until it forwards again) and refuses.
func TestFixtureProxy(t *testing.T) {
	t.Parallel()
	base := fixtureServer(t)
	ctx := testContext(t)
	var p browsertest.FixtureProxy
	if err := json.Unmarshal([]byte(readAll(t, do(t, ctx, "POST", base+"/proxy", "", nil))), &p); err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || !strings.HasPrefix(p.Origin, "http://127.0.0.1:") {
		t.Fatalf("POST /proxy = %+v; want an ID and an origin on 127.0.0.1", p)
	}
	state := func(s string, want int) {
		t.Helper()
		if r := do(t, ctx, "POST", base+"/proxy/"+p.ID+"/"+s, "", nil); r.StatusCode != want {
			t.Fatalf("POST /proxy/%s/%s = %s; want %d", p.ID, s, r.Status, want)
		}
	}
	c := fresh(t)
	through := p.Origin + "/_fixture/ssekit/heartbeat/events?topic=px&heartbeat=event"
	resp, err := get(t, c, ctx, through)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET through the proxy = %v, %v", resp, err)
	}
	defer resp.Body.Close()
	r := newReader(sse.NewDecoder(resp.Body))
	if ev, err, _ := r.within(wait); err != nil || ev.Type != schema.HelloEvent {
		t.Fatalf("first event through the proxy = %+v, %v; want the hello", ev, err)
	}

	state("blackhole", http.StatusNoContent)
	r.within(100 * time.Millisecond) // a heartbeat may have been on its way
	if ev, err, ok := r.within(3 * browsertest.FixtureHeartbeat); ok {
		t.Fatalf("through a blackhole: %+v, %v; want nothing, not even a heartbeat", ev, err)
	}
	held := make(chan error, 1)
	go func() {
		r, err := get(t, c, ctx, through)
		if err == nil {
			r.Body.Close()
		}
		held <- err
	}()
	select {
	case err := <-held:
		t.Fatalf("a request in a blackhole returned %v; want it held", err)
	case <-time.After(2 * browsertest.FixtureHeartbeat):
	}
	state("forward", http.StatusNoContent)
	if err := <-held; err != nil {
		t.Fatalf("the held request after forward: %v", err)
	}
	if ev, err, ok := r.within(3 * browsertest.FixtureHeartbeat); ok {
		t.Fatalf("the blackholed connection after forward: %+v, %v; want it dead for good", ev, err)
	}

	state("refuse", http.StatusNoContent)
	if r, err := get(t, c, ctx, through); err == nil {
		r.Body.Close()
		t.Fatalf("GET through a refusing proxy = %s; want a connection error", r.Status)
	}
	state("sideways", http.StatusBadRequest)
	if r := do(t, ctx, "DELETE", base+"/proxy/"+p.ID, "", nil); r.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE /proxy = %s", r.Status)
	}
	if r := do(t, ctx, "POST", base+"/proxy/"+p.ID+"/forward", "", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("a deleted proxy = %s; want 404", r.Status)
	}
}

// Without a tab, the tab endpoints say so; bad durations are refused.
func TestFixtureTabWithoutTab(t *testing.T) {
	t.Parallel()
	base := fixtureServer(t)
	ctx := testContext(t)
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/tab/freeze?for=1s", http.StatusNotImplemented},
		{"/tab/offline?for=1s", http.StatusNotImplemented},
		{"/tab/offline?for=1s&proxy=nope", http.StatusNotFound},
		{"/tab/freeze?for=soon", http.StatusBadRequest},
		{"/tab/freeze?for=2h", http.StatusBadRequest},
	} {
		if r := do(t, ctx, "POST", base+tt.path, "", nil); r.StatusCode != tt.status {
			t.Errorf("POST %s = %s; want %d", tt.path, r.Status, tt.status)
		}
	}
	if got := strings.TrimSpace(readAll(t, do(t, ctx, "GET", base+"/tab/log", "", nil))); got != "[]" {
		t.Errorf("GET /tab/log = %s; want []", got)
	}
}
