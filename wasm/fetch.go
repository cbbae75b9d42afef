//go:build js && wasm

package wasm

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/shared/client"
	"github.com/ssekit/ssekit/shared/sse"
)

// fetcher reads the stream with fetch() and response.body.getReader(),
// decodes it with an [sse.Decoder] and reconnects by the EventSource rules
// of WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model),
// with backoff after failures. One goroutine, run, owns everything but the
// fields under mu; it alone awaits promises.
type fetcher struct {
	s            *Source
	url          string            // absolute
	method       string            // "" for GET
	header       map[string]string // the caller's headers but Last-Event-ID, as ByteStrings
	accept       bool              // Header has no Accept of its own
	body         []byte
	credentials  string
	retryStatus  func(status int) bool
	maxEventSize int
	rc           client.Reconnect
	lastID       string // the last event ID string, carried across responses
	stop         chan struct{}

	mu     sync.Mutex
	closed bool
	ctrl   safejs.Value // the AbortController of the attempt in flight
}

// startFetch checks the URL and the request as the browser would (so that a
// bad one is an error of Open, not a retry loop) and starts the goroutine
// that connects.
func startFetch(s *Source, url string, cfg *config) (*fetcher, error) {
	abs, err := resolveURL(url)
	if err != nil {
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	req := cfg.fetch
	f := &fetcher{
		s:            s,
		url:          abs,
		method:       req.Method,
		header:       make(map[string]string, len(req.Header)),
		accept:       true,
		body:         req.Body,
		credentials:  req.Credentials,
		retryStatus:  cfg.retryStatus,
		maxEventSize: cfg.maxEventSize,
		rc:           client.Reconnect{Backoff: cfg.backoff, Retry: cfg.retry},
		stop:         make(chan struct{}),
		ctrl:         safejs.Undefined(),
	}
	if f.credentials == "" {
		f.credentials = "same-origin"
		if cfg.credentials {
			f.credentials = "include"
		}
	}
	for k, v := range req.Header {
		switch {
		case strings.EqualFold(k, "Last-Event-ID"):
			f.lastID = v
			continue
		case strings.EqualFold(k, "Accept"):
			f.accept = false
		}
		f.header[k] = client.HeaderValue(v)
	}
	// new Request throws what fetch would reject: a GET with a body, a
	// forbidden method, a malformed header.
	init := f.init(safejs.Undefined())
	if f.body != nil {
		init["body"] = string(f.body)
	}
	if err := construct("Request", abs, init); err != nil {
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	s.setLastID(f.lastID)
	go f.run()
	return f, nil
}

// resolveURL resolves url against the page's address as EventSource does,
// and accepts http and https only.
func resolveURL(url string) (string, error) {
	base := stringProp(mustGet(safejs.Global(), "location"), "href")
	args := []any{url}
	if base != "" {
		args = append(args, base)
	}
	ctor, err := safejs.Global().Get("URL")
	if err != nil {
		return "", err
	}
	u, err := ctor.New(args...)
	if err != nil {
		return "", err
	}
	switch p := stringProp(u, "protocol"); p {
	case "http:", "https:":
	default:
		return "", fmt.Errorf("the fetch transport reads http and https URLs, not %s", strings.TrimSuffix(p, ":"))
	}
	return stringProp(u, "href"), nil
}

func construct(class string, args ...any) error {
	ctor, err := safejs.Global().Get(class)
	if err != nil {
		return err
	}
	_, err = ctor.New(args...)
	return err
}

// init returns fetch's RequestInit for one attempt, shaped like the request
// of EventSource's constructor in WHATWG HTML §9.2.2
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface):
// Accept: text/event-stream unless the caller set its own, cache mode
// no-store, and the credentials mode.
func (f *fetcher) init(signal safejs.Value) map[string]any {
	h := make(map[string]any, len(f.header)+2)
	if f.accept {
		h["Accept"] = "text/event-stream"
	}
	for k, v := range f.header {
		h[k] = v
	}
	if f.lastID != "" { // never on the first request unless the caller asked (§9.2.3 sets it on reconnection)
		h["Last-Event-ID"] = client.HeaderValue(f.lastID)
	}
	init := map[string]any{
		"headers":     h,
		"cache":       "no-store",
		"credentials": f.credentials,
		"redirect":    "follow",
	}
	if f.method != "" {
		init["method"] = f.method
	}
	if !signal.IsUndefined() {
		init["signal"] = signal
	}
	return init
}

func (f *fetcher) stopped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// close aborts the attempt in flight and ends run. It never blocks: run
// sees the abort when its await settles.
func (f *fetcher) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	ctrl := f.ctrl
	f.mu.Unlock()
	close(f.stop)
	abort(ctrl)
}

func abort(ctrl safejs.Value) {
	if !ctrl.IsUndefined() {
		ctrl.Call("abort")
	}
}

func (f *fetcher) listen(string) {} // every event reaches the dispatcher

// run connects, reads and reconnects until the source is closed or the
// connection fails for good.
func (f *fetcher) run() {
	for {
		wait, again := f.attempt()
		if !again {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-f.stop:
			t.Stop()
			return
		}
	}
}

// attempt makes one request and reads its response. It returns whether to
// try again, and after how long.
func (f *fetcher) attempt() (wait time.Duration, again bool) {
	ctor, err := safejs.Global().Get("AbortController")
	var ctrl safejs.Value
	if err == nil {
		ctrl, err = ctor.New()
	}
	if err != nil {
		return f.fail(&ConnError{Closed: true, Reason: "no AbortController", Err: thrown(err)})
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return 0, false
	}
	f.ctrl = ctrl
	f.mu.Unlock()

	init := f.init(mustGet(ctrl, "signal"))
	if f.body != nil {
		u8, err := newBytes(f.body)
		if err != nil {
			return f.fail(&ConnError{Closed: true, Reason: "copying the request body", Err: err})
		}
		init["body"] = u8
	}
	var resp safejs.Value
	promise, err := safejs.Global().Call("fetch", f.url, init)
	if err == nil {
		resp, err = await(promise)
	}
	if f.stopped() {
		return 0, false // the AbortError of Close: no error, no retry
	}
	if err != nil {
		err = thrown(err)
		return f.retry(0, "network error: "+err.Error(), 0, err)
	}
	headers := mustGet(resp, "headers")
	status, _ := mustGet(resp, "status").Int()
	r := client.Response{
		Status:      status,
		StatusText:  stringProp(resp, "statusText"),
		ContentType: header(headers, "Content-Type"),
		RetryAfter:  header(headers, "Retry-After"),
	}
	d := client.Decide(r, time.Now(), f.retryStatus)
	switch d.Action {
	case client.ActionAccept:
		return f.read(resp, ctrl)
	case client.ActionRetry:
		abort(ctrl) // the body is never read, as EventSource never reads a refused response (§9.2.2)
		return f.retry(status, d.Reason, d.RetryAfter, nil)
	}
	abort(ctrl)
	return f.fail(&ConnError{Closed: true, Status: status, Reason: d.Reason})
}

// read announces the connection and dispatches the body's events until it
// ends.
func (f *fetcher) read(resp, ctrl safejs.Value) (wait time.Duration, again bool) {
	f.rc.Connected()
	origin := originOf(stringProp(resp, "url"))
	f.s.setState(StateOpen)
	f.s.d.PostOpen()

	var err error
	body := mustGet(resp, "body")
	if body.IsNull() || body.IsUndefined() {
		err = io.EOF // no body: an empty stream
	} else if reader, rerr := body.Call("getReader"); rerr != nil {
		err = thrown(rerr)
	} else {
		// A fresh decoder per response, seeded with the last event ID; the
		// reconnection time lives in f.rc across responses. EventSource keeps
		// both on the object, across reconnections (§9.2.2).
		dec := sse.NewDecoder(&bodyReader{reader: reader})
		dec.SetLastEventID(f.lastID)
		if f.maxEventSize > 0 {
			dec.SetMaxEventSize(f.maxEventSize)
		}
		for {
			var ev sse.Event
			ev, err = dec.Next()
			if id := dec.LastEventID(); id != f.lastID {
				f.lastID = id
				f.s.setLastID(id)
			}
			if retry, ok := dec.Retry(); ok {
				f.rc.Retry = retry
			}
			if err != nil {
				break
			}
			f.s.d.PostEvent(ev, origin)
		}
	}
	if f.stopped() {
		return 0, false
	}
	if err == io.EOF { // a clean end reconnects, as in EventSource (§9.2.2)
		d := f.rc.Ended()
		f.s.setState(StateConnecting)
		f.s.d.PostError(&ConnError{Reason: "the stream ended", Delay: d})
		return d, true
	}
	abort(ctrl)
	var le *sse.LimitError
	if errors.As(err, &le) { // resuming would read the same event again
		return f.fail(&ConnError{Closed: true, Reason: err.Error(), Err: err})
	}
	return f.retry(0, "reading the stream: "+err.Error(), 0, err)
}

// retry reports a failed attempt and returns the backoff's wait.
func (f *fetcher) retry(status int, reason string, floor time.Duration, err error) (time.Duration, bool) {
	d := f.rc.Failed(floor)
	f.s.setState(StateConnecting)
	f.s.d.PostError(&ConnError{Status: status, Reason: reason, Delay: d, Err: err})
	return d, true
}

// fail fails the connection: closed, never retried.
func (f *fetcher) fail(e *ConnError) (time.Duration, bool) {
	f.s.setState(StateClosed)
	f.s.d.PostError(e)
	return 0, false
}

// header returns a header of a Headers object, "" when absent.
func header(headers safejs.Value, name string) string {
	v, err := headers.Call("get", name)
	if err != nil || v.Type() != safejs.TypeString {
		return ""
	}
	s, _ := v.String()
	return s
}

// originOf returns the serialised origin of url, or the page's origin.
func originOf(url string) string {
	if ctor, err := safejs.Global().Get("URL"); err == nil && url != "" {
		if u, err := ctor.New(url); err == nil {
			return stringProp(u, "origin")
		}
	}
	return stringProp(mustGet(safejs.Global(), "location"), "origin")
}

// newBytes returns a Uint8Array holding a copy of b.
func newBytes(b []byte) (safejs.Value, error) {
	ctor, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return safejs.Value{}, err
	}
	u8, err := ctor.New(len(b))
	if err != nil {
		return safejs.Value{}, err
	}
	if _, err := safejs.CopyBytesToJS(u8, b); err != nil {
		return safejs.Value{}, err
	}
	return u8, nil
}
