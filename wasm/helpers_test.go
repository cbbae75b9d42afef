//go:build js && wasm

package wasm_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

// The tests run in the page of browsertest/cmd/go_js_wasm_exec, which
// serves browsertest.Fixture under /_fixture/ on the page's origin. They
// run one at a time: a browser opens at most six HTTP/1.1 connections to
// one origin, and every stream holds one.

const (
	// wait bounds every wait for something that should happen.
	wait = 10 * time.Second
	// quiet is how long a test watches for something that must not happen
	// (a reconnection, a callback after Close). Longer than the
	// reconnection times the tests set, far shorter than wait.
	quiet = 300 * time.Millisecond
)

// response is a browsertest.FixtureResponse. The test binary does not
// import browsertest, which needs chromedp and a host OS.
type response struct {
	Status        int               `json:"status,omitempty"`
	ContentType   string            `json:"contentType,omitempty"`
	NoContentType bool              `json:"noContentType,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	Body          string            `json:"body,omitempty"`
	Hold          bool              `json:"hold,omitempty"`
}

// request is a browsertest.FixtureRequest.
type request struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Header map[string]string `json:"headers"`
	Body   string            `json:"body"`
	Time   time.Time         `json:"time"`
}

var keys atomic.Int64

// newKey returns a fixture key no other test uses.
func newKey(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "_", "#", "_").Replace(t.Name())
	return fmt.Sprintf("%s-%d", name, keys.Add(1))
}

// call fetches url and returns the status and the body's text.
func call(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	init := map[string]any{"method": method, "cache": "no-store"}
	if body != "" {
		init["body"] = body
	}
	promise, err := safejs.Global().Call("fetch", url, init)
	if err != nil {
		t.Fatalf("fetch(%s %s): %v", method, url, err)
	}
	resp, err := wasm.Await(promise)
	if err != nil {
		t.Fatalf("fetch(%s %s): %v", method, url, err)
	}
	status, err := get(t, resp, "status").Int()
	if err != nil {
		t.Fatal(err)
	}
	textPromise, err := resp.Call("text")
	if err != nil {
		t.Fatal(err)
	}
	text, err := wasm.Await(textPromise)
	if err != nil {
		t.Fatalf("fetch(%s %s): reading the body: %v", method, url, err)
	}
	s, err := text.String()
	if err != nil {
		t.Fatal(err)
	}
	return status, s
}

func get(t testing.TB, v safejs.Value, prop string) safejs.Value {
	t.Helper()
	p, err := v.Get(prop)
	if err != nil {
		t.Fatalf("reading %s: %v", prop, err)
	}
	return p
}

// script scripts the responses of /_fixture/stream/{key} and returns that
// URL. Cleanup deletes the key, which ends held streams.
func script(t testing.TB, key string, rs ...response) string {
	t.Helper()
	if rs == nil {
		rs = []response{}
	}
	b, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if status, text := call(t, "POST", "_fixture/script/"+key, string(b)); status != 204 {
		t.Fatalf("scripting %s: %d %s", key, status, text)
	}
	t.Cleanup(func() { unhold(t, key) })
	return "_fixture/stream/" + key
}

// unhold deletes key's script, ending its held streams.
func unhold(t testing.TB, key string) {
	t.Helper()
	if status, text := call(t, "DELETE", "_fixture/script/"+key, ""); status != 204 {
		t.Errorf("deleting %s: %d %s", key, status, text)
	}
}

// requests returns the requests the fixture received for key.
func requests(t testing.TB, key string) []request {
	t.Helper()
	status, text := call(t, "GET", "_fixture/requests/"+key, "")
	if status != 200 {
		t.Fatalf("requests of %s: %d %s", key, status, text)
	}
	var reqs []request
	if err := json.Unmarshal([]byte(text), &reqs); err != nil {
		t.Fatalf("requests of %s: %v", key, err)
	}
	return reqs
}

// publish publishes an event on the fixture's ssekit endpoint and returns
// its ID.
func publish(t testing.TB, topic, typ, data string) string {
	t.Helper()
	status, id := call(t, "POST", "_fixture/ssekit/publish?topic="+topic+"&type="+typ, data)
	if status != 200 {
		t.Fatalf("publishing to %s: %d %s", topic, status, id)
	}
	return id
}

// disconnect ends every stream of the fixture's ssekit endpoint.
func disconnect(t testing.TB) {
	t.Helper()
	if status, text := call(t, "POST", "_fixture/ssekit/disconnect", ""); status != 204 {
		t.Fatalf("disconnecting: %d %s", status, text)
	}
}

// waitFor polls cond until it holds, and fails the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("waited %v for %s", timeout, what)
		}
	}
}

// recorder collects what handlers saw, in order, as text.
type recorder struct{ c chan string }

func newRecorder() *recorder { return &recorder{c: make(chan string, 10000)} }

func (r *recorder) add(format string, args ...any) {
	select {
	case r.c <- fmt.Sprintf(format, args...):
	default:
		panic("recorder full")
	}
}

// next returns the next record, failing after wait.
func (r *recorder) next(t testing.TB) string {
	t.Helper()
	select {
	case s := <-r.c:
		return s
	case <-time.After(wait):
		t.Fatalf("no record within %v", wait)
		return ""
	}
}

// expect receives len(want) records and compares them with want.
func (r *recorder) expect(t testing.TB, want ...string) {
	t.Helper()
	for i, w := range want {
		if got := r.next(t); got != w {
			t.Fatalf("record %d = %q; want %q", i, got, w)
		}
	}
}

// none fails if a record arrives within quiet.
func (r *recorder) none(t testing.TB) {
	t.Helper()
	select {
	case s := <-r.c:
		t.Fatalf("unexpected record %q", s)
	case <-time.After(quiet):
	}
}

// transport is a way of opening a source, for tests that run on both.
type transport struct {
	name string
	opts []wasm.Option
}

// fastFetch makes the fetch transport reconnect quickly.
var fastFetch = []wasm.Option{
	wasm.WithFetch(wasm.Request{}),
	wasm.WithRetry(10 * time.Millisecond),
	wasm.WithBackoff(wasm.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2, Jitter: 0.5}),
}

var transports = []transport{
	{"native", nil},
	{"fetch", fastFetch},
}

// open opens a source that the test's cleanup closes.
func open(t testing.TB, url string, opts ...wasm.Option) *wasm.Source {
	t.Helper()
	src, err := wasm.Open(url, opts...)
	if err != nil {
		t.Fatalf("Open(%q) = %v", url, err)
	}
	t.Cleanup(src.Close)
	return src
}

// errKind renders an error for a recorder: connection errors by whether
// the source reconnects, decode errors by their event.
func errKind(err error) string {
	var ce *wasm.ConnError
	var de *schema.DecodeError
	switch {
	case errors.As(err, &ce) && ce.Closed:
		return "error closed"
	case errors.As(err, &ce):
		return "error reconnecting"
	case errors.As(err, &de):
		return "error decode " + de.Event
	}
	return "error other " + err.Error()
}
