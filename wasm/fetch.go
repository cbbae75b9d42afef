//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/internal/client"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// reasonTimeout bounds the reading of a refused response's body.
const reasonTimeout = 2 * time.Second

// fetcher reads the stream with fetch() and response.body.getReader(),
// decodes it with an [sse.Decoder] and reconnects by the EventSource rules
// of WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model),
// with backoff after failures. One goroutine, run, owns everything but the
// fields under mu; it alone awaits promises.
//
// Beyond EventSource, it gives up a connection on which nothing arrived for
// three heartbeat intervals (the watchdog), reconnects at once when the
// page comes back (online, resume, visible), stops reading while the
// handlers are a whole queue behind, and computes the request anew for
// every attempt with a request function.
type fetcher struct {
	s            *Source
	url          string   // absolute
	fixed        *request // the request of WithFetch, or nil
	reqFunc      func(context.Context) (Request, error)
	credentials  bool // WithCredentials
	retryStatus  func(status int) bool
	maxEventSize int
	rc           client.Reconnect
	refresh      client.Refresh
	wd           *client.Watchdog
	lastID       string // the last event ID string, carried across responses
	ctx          context.Context
	cancel       context.CancelFunc
	stop         chan struct{}
	wakeCh       chan struct{} // a token: end the wait before the next attempt

	mu      sync.Mutex
	closed  bool
	ctrl    safejs.Value // the AbortController of the attempt in flight
	aborted error        // why run aborted ctrl itself: ErrSilent or errWoken
	waiting bool         // between attempts
}

// errWoken is why an attempt was aborted when the page came back.
var errWoken = errors.New("wasm: the page came back")

// request is one attempt's request, ready for fetch.
type request struct {
	method      string            // "" for GET
	header      map[string]string // as ByteStrings, without Last-Event-ID
	accept      bool              // header has no Accept of its own
	body        []byte
	credentials string
}

// prepare checks req's credentials mode and turns it into a request.
func prepare(req Request, withCredentials bool) (*request, error) {
	r := &request{method: req.Method, header: make(map[string]string, len(req.Header)), accept: true, body: req.Body, credentials: req.Credentials}
	switch r.credentials {
	case "":
		r.credentials = "same-origin"
		if withCredentials {
			r.credentials = "include"
		}
	case "omit", "same-origin", "include":
	default:
		return nil, fmt.Errorf("Credentials %q is not omit, same-origin or include", req.Credentials)
	}
	for k, v := range req.Header {
		switch {
		case strings.EqualFold(k, "Last-Event-ID"):
			continue // the source's own
		case strings.EqualFold(k, "Accept"):
			r.accept = false
		}
		r.header[k] = client.HeaderValue(v)
	}
	return r, nil
}

// startFetch checks the URL and, for WithFetch, the request as the browser
// would (so that a bad one is an error of Open, not a retry loop) and
// starts the goroutine that connects.
func startFetch(s *Source, url string, cfg *config, lastID string) (*fetcher, error) {
	abs, err := resolveURL(url)
	if err != nil {
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	f := &fetcher{
		s:            s,
		url:          abs,
		reqFunc:      cfg.fetchFunc,
		credentials:  cfg.credentials,
		retryStatus:  cfg.retryStatus,
		maxEventSize: cfg.maxEventSize,
		rc:           client.Reconnect{Backoff: cfg.backoff, Retry: cfg.retry},
		lastID:       lastID,
		stop:         make(chan struct{}),
		wakeCh:       make(chan struct{}, 1),
		ctrl:         safejs.Undefined(),
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.wd = client.NewWatchdog(func() { f.abortFor(ErrSilent) })
	if cfg.fetch != nil {
		if f.fixed, err = prepare(*cfg.fetch, cfg.credentials); err == nil {
			err = f.check(f.fixed)
		}
		if err != nil {
			return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
		}
	}
	go f.run()
	return f, nil
}

// check throws what fetch would reject: a GET with a body, a forbidden
// method, a malformed header.
func (f *fetcher) check(r *request) error {
	init := f.init(r, safejs.Undefined())
	if r.body != nil {
		init["body"] = string(r.body)
	}
	return construct("Request", f.url, init)
}

// resolveURL resolves url against the page's address as EventSource does,
// and accepts http and https only.
func resolveURL(url string) (string, error) {
	abs, err := absoluteURL(url)
	if err != nil {
		return "", err
	}
	ctor, err := safejs.Global().Get("URL")
	if err != nil {
		return "", err
	}
	u, err := ctor.New(abs)
	if err != nil {
		return "", err
	}
	switch p := stringProp(u, "protocol"); p {
	case "http:", "https:":
	default:
		return "", fmt.Errorf("the fetch transport reads http and https URLs, not %s", strings.TrimSuffix(p, ":"))
	}
	return abs, nil
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
func (f *fetcher) init(r *request, signal safejs.Value) map[string]any {
	h := make(map[string]any, len(r.header)+2)
	if r.accept {
		h["Accept"] = "text/event-stream"
	}
	for k, v := range r.header {
		h[k] = v
	}
	if f.lastID != "" { // never on the first request unless the caller asked (§9.2.3 sets it on reconnection)
		h["Last-Event-ID"] = client.HeaderValue(f.lastID)
	}
	init := map[string]any{
		"headers":     h,
		"cache":       "no-store",
		"credentials": r.credentials,
		"redirect":    "follow",
	}
	if r.method != "" {
		init["method"] = r.method
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
	f.wd.Stop()
	f.cancel()
	close(f.stop)
	abort(ctrl)
}

// abortFor aborts the attempt in flight, for why: the watchdog found it
// silent, or the page came back and it is probably dead. run reconnects.
func (f *fetcher) abortFor(why error) {
	f.mu.Lock()
	if f.closed || f.waiting || f.aborted != nil {
		f.mu.Unlock()
		return
	}
	f.aborted = why
	ctrl := f.ctrl
	f.mu.Unlock()
	abort(ctrl)
}

// wake ends the wait before the next attempt, or the attempt in flight
// when its connection is probably dead.
func (f *fetcher) wake(k client.Wake) {
	f.mu.Lock()
	waiting := f.waiting
	f.mu.Unlock()
	if waiting {
		select {
		case f.wakeCh <- struct{}{}:
		default:
		}
		return
	}
	if f.wd.Woken(k, false) {
		f.abortFor(errWoken)
	}
}

// sleep notes that the page went offline, was frozen or hidden.
func (f *fetcher) sleep(k client.Wake) { f.wd.Asleep(k) }

func abort(ctrl safejs.Value) {
	if !ctrl.IsUndefined() {
		ctrl.Call("abort")
	}
}

func (f *fetcher) listen(string) {} // every event reaches the dispatcher

// run connects, reads and reconnects until the source is closed or the
// connection fails for good.
func (f *fetcher) run() {
	var refusal *ConnError // a 401 to compute the request anew for
	for {
		wait, again := f.attempt(&refusal)
		if !again {
			return
		}
		if wait <= 0 {
			continue
		}
		f.wd.Pause()
		f.mu.Lock()
		f.waiting = true
		f.mu.Unlock()
		select {
		case <-f.wakeCh: // a stale token from an earlier wait
		default:
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-f.wakeCh:
			t.Stop()
			f.rc.Reset() // the failures were the network's, and it is back
		case <-f.stop:
			t.Stop()
			return
		}
		f.mu.Lock()
		f.waiting = false
		f.mu.Unlock()
	}
}

// attempt makes one request and reads its response. It returns whether to
// try again, and after how long. *refusal is the 401 the request must be
// computed anew for; attempt sets it for the next attempt.
func (f *fetcher) attempt(refusal **ConnError) (wait time.Duration, again bool) {
	req := f.fixed
	if f.reqFunc != nil {
		ctx := f.ctx
		if *refusal != nil {
			ctx = context.WithValue(ctx, refusalKey{}, *refusal)
		}
		*refusal = nil
		r, err := f.reqFunc(ctx)
		if f.stopped() {
			return 0, false
		}
		if err != nil {
			return f.retry(&ConnError{Reason: "the request function failed: " + err.Error(), Err: err}, 0)
		}
		if req, err = prepare(r, f.credentials); err == nil {
			err = f.check(req)
		}
		if err != nil {
			err = thrown(err)
			return f.fail(&ConnError{Closed: true, Reason: "the request function returned a request fetch rejects: " + err.Error(), Err: err})
		}
	}

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
	f.ctrl, f.aborted = ctrl, nil
	f.mu.Unlock()
	f.wd.Resume() // an attempt that hangs is given up too, once the interval is known

	init := f.init(req, mustGet(ctrl, "signal"))
	if req.body != nil {
		u8, err := newBytes(req.body)
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
		switch why := f.abortReason(); why {
		case ErrSilent:
			return f.retry(&ConnError{Reason: fmt.Sprintf("no response within %v (%v)", f.wd.Timeout(), f.wd), Err: ErrSilent}, 0)
		case errWoken:
			return f.again(&ConnError{Reason: "the page came back: trying again"})
		}
		return f.retry(&ConnError{Reason: "network error: " + err.Error(), Err: err}, 0)
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
	if d.Action == client.ActionAccept {
		f.refresh.Accepted()
		return f.read(resp, ctrl)
	}
	// The body is never parsed as a stream, as EventSource never reads a
	// refused response (§9.2.2); its start may say why.
	e := &ConnError{Status: status, Reason: d.Reason}
	if client.WantsReason(r.ContentType) {
		e.Body = readReason(resp, ctrl)
	}
	abort(ctrl)
	switch {
	case d.Action == client.ActionRetry:
		return f.retry(e, d.RetryAfter)
	case f.refresh.Refused(status, f.reqFunc != nil):
		*refusal = e
		return f.again(e)
	}
	e.Closed = true
	return f.fail(e)
}

func (f *fetcher) abortReason() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.aborted
}

// readReason returns the start of a refused response's text, read within
// reasonTimeout.
func readReason(resp, ctrl safejs.Value) string {
	body := mustGet(resp, "body")
	if body.IsNull() || body.IsUndefined() {
		return ""
	}
	reader, err := body.Call("getReader")
	if err != nil {
		return ""
	}
	t := time.AfterFunc(reasonTimeout, func() { abort(ctrl) })
	defer t.Stop()
	b, _ := io.ReadAll(io.LimitReader(&bodyReader{reader: reader}, client.MaxReasonBody+utf8Max))
	return client.ReasonText(b)
}

// utf8Max lets readReason read the rest of a character cut at the limit.
const utf8Max = 4

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
		err = f.decode(reader, origin)
	}
	if f.stopped() {
		return 0, false
	}
	switch why := f.abortReason(); {
	case why == ErrSilent:
		return f.again(&ConnError{Reason: fmt.Sprintf("nothing received for %v (%v)", f.wd.Timeout(), f.wd), Err: ErrSilent})
	case why == errWoken:
		return f.again(&ConnError{Reason: "the page came back and the connection is probably dead"})
	case err == io.EOF: // a clean end reconnects, as in EventSource (§9.2.2)
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
	return f.retry(&ConnError{Reason: "reading the stream: " + err.Error(), Err: err}, 0)
}

// decode hands the body's events to the dispatcher until the body ends or
// breaks, or the source is closed (io.EOF then). It posts them a chunk at
// a time: the events decoded from what one read returned go to the
// dispatcher in one batch, before the next read.
func (f *fetcher) decode(reader safejs.Value, origin string) error {
	br := &bodyReader{reader: reader, alive: f.wd.Alive}
	// A fresh decoder per response, seeded with the last event ID; the
	// reconnection time lives in f.rc across responses. EventSource keeps
	// both on the object, across reconnections (§9.2.2).
	dec := sse.NewDecoder(br)
	dec.SetLastEventID(f.lastID)
	if f.maxEventSize > 0 {
		dec.SetMaxEventSize(f.maxEventSize)
	}
	var batch []sse.Event
	closed := false
	// flush posts the batch. When the handlers are a whole queue behind,
	// it stops reading until there is room: the server's queue fills in
	// turn, and it resumes or evicts this client by its own rules.
	flush := func() {
		k := f.s.d.PostEvents(batch, origin)
		for _, ev := range batch[k:] {
			if closed {
				break
			}
			f.wd.Pause()
			closed = !f.s.d.SendEvent(ev, origin, f.stop)
			f.wd.Resume()
		}
		clear(batch) // do not pin the events' data while reading
		batch = batch[:0]
		// A change of the ID since the last event came from blocks with
		// no data.
		if id := dec.LastEventID(); id != f.lastID && !closed {
			f.lastID = id
			f.s.d.PostID(id)
		}
	}
	// Before waiting for more bytes, everything read is dispatched.
	br.before = flush
	for {
		ev, err := dec.Next()
		if retry, ok := dec.Retry(); ok {
			f.rc.Retry = retry
		}
		if err != nil {
			flush()
			if closed {
				return io.EOF
			}
			return err
		}
		if closed {
			return io.EOF
		}
		f.lastID = ev.ID
		if ev.Type == schema.HelloEvent {
			f.wd.SetInterval(client.HelloHeartbeat(ev.Data))
		}
		batch = append(batch, ev)
	}
}

// again reports e and tries again at once.
func (f *fetcher) again(e *ConnError) (time.Duration, bool) {
	f.s.setState(StateConnecting)
	f.s.d.PostError(e)
	return 0, true
}

// retry reports a failed attempt and returns the backoff's wait, at least
// floor.
func (f *fetcher) retry(e *ConnError, floor time.Duration) (time.Duration, bool) {
	e.Delay = f.rc.Failed(floor)
	f.s.setState(StateConnecting)
	f.s.d.PostError(e)
	return e.Delay, true
}

// fail fails the connection: closed, never retried.
func (f *fetcher) fail(e *ConnError) (time.Duration, bool) {
	e.Closed = true
	f.wd.Stop()
	f.s.setState(StateClosed)
	f.s.d.PostEnd(e)
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

// fetchTransport is startFetch as [config.fetchStart]: only WithFetch and
// WithFetchFunc refer to it, so a bundle that uses neither links none of
// the fetch transport (about 25 KB of brotli: fetch, the sse.Decoder, the
// response rules, the backoff, package context).
func fetchTransport(s *Source, url string, cfg *config, lastID string) (transport, error) {
	f, err := startFetch(s, url, cfg, lastID)
	if err != nil {
		return nil, err
	}
	return f, nil
}
