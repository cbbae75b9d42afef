//go:build js && wasm

package wasm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

// The tests of a network that misbehaves. They stream a sequence that the
// fixture publishes on its own (1, 2, 3, ...: a gap or a duplicate shows),
// from its endpoint with heartbeats every heartbeat, through a TCP proxy
// they can blackhole or make refuse, and act on the page's own tab through
// the fixture's /tab/ endpoints. Both transports run side by side, with
// the fetch transport's default backoff, so that the times are the ones a
// page would see.

// heartbeat is browsertest.FixtureHeartbeat.
const heartbeat = 500 * time.Millisecond

var (
	seqEvent     = schema.Define[int]("seq")
	liveRegistry = schema.MustRegistry(seqEvent)
)

// liveTransports are the transports with their default reconnection rules.
var liveTransports = []transport{
	{"native", nil},
	{"fetch", []wasm.Option{wasm.WithFetch(wasm.Request{})}},
}

// tracker records what one source delivers of a sequence, and when.
type tracker struct {
	name string
	mu   sync.Mutex
	got  []int
	at   []time.Time
	errs []trackedErr
}

type trackedErr struct {
	err error
	at  time.Time
}

func (tk *tracker) event(v int, _ wasm.Meta) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.got = append(tk.got, v)
	tk.at = append(tk.at, time.Now())
}

func (tk *tracker) error(err error) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.errs = append(tk.errs, trackedErr{err, time.Now()})
}

// last returns the last value delivered, 0 before any.
func (tk *tracker) last() int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if len(tk.got) == 0 {
		return 0
	}
	return tk.got[len(tk.got)-1]
}

// reached returns when the source delivered a value of at least v, and
// whether it has.
func (tk *tracker) reached(v int) (time.Time, bool) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for i, g := range tk.got {
		if g >= v {
			return tk.at[i], true
		}
	}
	return time.Time{}, false
}

// firstError returns the first error after since that matches, and when.
func (tk *tracker) firstError(since time.Time, match func(error) bool) (time.Time, error) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for _, e := range tk.errs {
		if !e.at.Before(since) && match(e.err) {
			return e.at, e.err
		}
	}
	return time.Time{}, nil
}

func (tk *tracker) errors() string {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	var s []string
	for _, e := range tk.errs {
		s = append(s, e.err.Error())
	}
	return strings.Join(s, "\n\t")
}

// exact fails the test unless the source delivered 1..n, each once, in
// order.
func (tk *tracker) exact(t testing.TB, n int) {
	t.Helper()
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for i, g := range tk.got {
		if g != i+1 {
			t.Errorf("%s: value %d is %d; want %d (no gap, no duplicate); errors:\n\t%s", tk.name, i, g, i+1, tk.errorsLocked())
			return
		}
	}
	if len(tk.got) != n {
		t.Errorf("%s: delivered %d values; want %d", tk.name, len(tk.got), n)
	}
}

func (tk *tracker) errorsLocked() string {
	var s []string
	for _, e := range tk.errs {
		s = append(s, e.err.Error())
	}
	return strings.Join(s, "\n\t")
}

// openTracked opens a source of the sequence at url for each transport.
func openTracked(t testing.TB, url string, trs []transport, extra ...wasm.Option) ([]*wasm.Source, []*tracker) {
	t.Helper()
	var srcs []*wasm.Source
	var tks []*tracker
	for _, tr := range trs {
		opts := append([]wasm.Option{wasm.WithRegistry(liveRegistry)}, extra...)
		src := open(t, url, append(opts, tr.opts...)...)
		tk := &tracker{name: tr.name}
		wasm.On(src, seqEvent, tk.event)
		src.OnError(tk.error)
		srcs, tks = append(srcs, src), append(tks, tk)
	}
	return srcs, tks
}

// proxied makes a fixture proxy and returns its ID and the fixture's URL
// through it, ending in "_fixture/".
func proxied(t testing.TB) (id, base string) {
	t.Helper()
	status, text := call(t, "POST", "_fixture/proxy", "")
	if status != 200 {
		t.Fatalf("making a proxy: %d %s", status, text)
	}
	var p struct{ ID, Origin string }
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { call(t, "DELETE", "_fixture/proxy/"+p.ID, "") })
	u, err := safejs.Global().Get("URL")
	if err != nil {
		t.Fatal(err)
	}
	here, err := u.New("_fixture/", get(t, get(t, safejs.Global(), "location"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	path, err := get(t, here, "pathname").String()
	if err != nil {
		t.Fatal(err)
	}
	return p.ID, p.Origin + path
}

func setProxy(t testing.TB, id, state string) {
	t.Helper()
	if status, text := call(t, "POST", "_fixture/proxy/"+id+"/"+state, ""); status != 204 {
		t.Fatalf("proxy %s %s: %d %s", id, state, status, text)
	}
}

type sequenceStatus struct {
	Published int
	LastID    string
	Done      bool
}

// startSequence starts the fixture publishing 1, 2, ... on topic every
// interval, until stopSequence (n 0) or n.
func startSequence(t testing.TB, topic string, n int, every time.Duration) {
	t.Helper()
	if status, text := call(t, "POST", fmt.Sprintf("_fixture/ssekit/sequence?topic=%s&type=seq&n=%d&every=%s", topic, n, every), ""); status != 202 {
		t.Fatalf("starting a sequence: %d %s", status, text)
	}
	t.Cleanup(func() { call(t, "DELETE", "_fixture/ssekit/sequence?topic="+topic, "") })
}

func sequenceCall(t testing.TB, method, topic string) sequenceStatus {
	t.Helper()
	status, text := call(t, method, "_fixture/ssekit/sequence?topic="+topic, "")
	if status != 200 {
		t.Fatalf("%s sequence %s: %d %s", method, topic, status, text)
	}
	var s sequenceStatus
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// opened waits until every source is open, and so subscribed: the
// sequence may start.
func opened(t testing.TB, srcs ...*wasm.Source) {
	t.Helper()
	for _, src := range srcs {
		waitFor(t, wait, "the sources to open", func() bool { return src.ReadyState() == wasm.StateOpen })
	}
}

// streaming waits until every tracker has delivered a value of at least
// v.
func streaming(t testing.TB, timeout time.Duration, v int, tks ...*tracker) {
	t.Helper()
	for _, tk := range tks {
		waitFor(t, timeout, fmt.Sprintf("%s to deliver %d (it has %d; errors:\n\t%s)", tk.name, v, tk.last(), tk.errors()), func() bool {
			_, ok := tk.reached(v)
			return ok
		})
	}
}

// finish stops the sequence and checks that every tracker delivered all
// of it, exactly.
func finish(t testing.TB, topic string, tks ...*tracker) {
	t.Helper()
	n := sequenceCall(t, "DELETE", topic).Published
	streaming(t, wait, n, tks...)
	for _, tk := range tks {
		tk.exact(t, n)
	}
}

// A connection that stops delivering without closing (a blackhole) is
// noticed within three heartbeat intervals, and the source resumes where it
// was once the path is back.
func TestBlackholeNoticed(t *testing.T) {
	id, base := proxied(t)
	topic := newKey(t)
	srcs, tks := openTracked(t, base+"ssekit/heartbeat/events?topic="+topic, liveTransports)
	opened(t, srcs...)
	startSequence(t, topic, 0, 50*time.Millisecond)
	streaming(t, wait, 5, tks...)

	blackholed := time.Now()
	setProxy(t, id, "blackhole")
	limit := 3*heartbeat + time.Second // the allowance, and timers that run late on a loaded machine
	for _, tk := range tks {
		var at time.Time
		waitFor(t, limit+wait, tk.name+" to notice the blackhole", func() bool {
			at, _ = tk.firstError(blackholed, func(err error) bool { return errors.Is(err, wasm.ErrSilent) })
			return !at.IsZero()
		})
		d := at.Sub(blackholed)
		t.Logf("%s: blackhole noticed after %v (the watchdog allows %v after the last byte)", tk.name, d.Round(time.Millisecond), 3*heartbeat)
		if d > limit {
			t.Errorf("%s: blackhole noticed after %v; want within three heartbeat intervals (%v, with %v for timers)", tk.name, d, 3*heartbeat, limit-3*heartbeat)
		}
	}
	before := make([]int, len(tks))
	for i, tk := range tks {
		before[i] = tk.last()
	}
	restored := time.Now()
	setProxy(t, id, "forward")
	for i, tk := range tks {
		streaming(t, wait, before[i]+1, tk)
		at, _ := tk.reached(before[i] + 1)
		t.Logf("%s: streaming again %v after the path came back", tk.name, at.Sub(restored).Round(time.Millisecond))
	}
	finish(t, topic, tks...)
}

// onLine reports navigator.onLine.
func onLine(t testing.TB) bool {
	v, err := get(t, get(t, safejs.Global(), "navigator"), "onLine").Bool()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Offline for 10 s (the tab's network and the proxy both down): back within
// a second of coming online, although the fetch transport's backoff had
// grown to seconds meanwhile. The server has the default heartbeat (15 s),
// so the watchdog plays no part.
func TestOfflineRecovery(t *testing.T) {
	const outage = 10 * time.Second
	id, base := proxied(t)
	topic := newKey(t)
	srcs, tks := openTracked(t, base+"ssekit/events?topic="+topic, liveTransports)
	opened(t, srcs...)
	startSequence(t, topic, 0, 100*time.Millisecond)
	streaming(t, wait, 3, tks...)

	if status, text := call(t, "POST", fmt.Sprintf("_fixture/tab/offline?for=%s&proxy=%s", outage, id), ""); status != 202 {
		t.Fatalf("going offline: %d %s", status, text)
	}
	// No request from the page works now: watch navigator.onLine.
	waitFor(t, wait, "the tab to go offline", func() bool { return !onLine(t) })
	went := time.Now()
	waitFor(t, outage+wait, "the tab to come online", func() bool { return onLine(t) })
	online := time.Now()
	t.Logf("offline for %v", online.Sub(went).Round(time.Millisecond))
	published := sequenceCall(t, "GET", topic).Published
	for _, tk := range tks {
		streaming(t, wait, published, tk)
		at, _ := tk.reached(published)
		d := at.Sub(online)
		t.Logf("%s: caught up %v after coming online", tk.name, d.Round(time.Millisecond))
		if d > 2*time.Second {
			t.Errorf("%s: caught up %v after coming online; want within a second (and one of slack); errors:\n\t%s", tk.name, d, tk.errors())
		}
	}
	finish(t, topic, tks...)
}

// Frozen 12 s, as a browser freezes a background tab, then resumed:
// streaming again within a second, nothing lost. (Chromium never settles a
// fetch body read across a freeze: the fetch transport used to stay silent
// for good.) The server has the default heartbeat (15 s), longer than the
// freeze: the resume, not the watchdog, brings the streams back.
func TestFreezeRecovery(t *testing.T) {
	const frozen = 12 * time.Second
	topic := newKey(t)
	srcs, tks := openTracked(t, "_fixture/ssekit/events?topic="+topic, liveTransports)
	opened(t, srcs...)
	startSequence(t, topic, 0, 100*time.Millisecond)
	streaming(t, wait, 3, tks...)

	resumed := make(chan time.Time, 1)
	doc := get(t, safejs.Global(), "document")
	onResume, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		select {
		case resumed <- time.Now():
		default:
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer onResume.Release()
	if _, err := doc.Call("addEventListener", "resume", onResume); err != nil {
		t.Fatal(err)
	}
	defer doc.Call("removeEventListener", "resume", onResume)

	if status, text := call(t, "POST", fmt.Sprintf("_fixture/tab/freeze?for=%s", frozen), ""); status != 202 {
		t.Fatalf("freezing: %d %s", status, text)
	}
	var at time.Time
	select {
	case at = <-resumed:
	case <-time.After(frozen + wait):
		t.Fatalf("the page did not resume within %v", frozen+wait)
	}
	published := sequenceCall(t, "GET", topic).Published
	for _, tk := range tks {
		streaming(t, wait, published, tk)
		caught, _ := tk.reached(published)
		d := caught.Sub(at)
		t.Logf("%s: caught up %v after the page resumed", tk.name, d.Round(time.Millisecond))
		if d > 2*time.Second {
			t.Errorf("%s: caught up %v after the page resumed; want within a second (and one of slack); errors:\n\t%s", tk.name, d, tk.errors())
		}
	}
	finish(t, topic, tks...)
	if v, _ := get(t, doc, "visibilityState").String(); v != "visible" {
		t.Errorf("document.visibilityState after the freeze = %q; want visible", v)
	}
}

// Handlers ten times slower than the stream: what the source holds stays
// within its Limits, the stream slows down instead (the fetch transport
// stops reading, the native one closes and resumes), and nothing is lost.
func TestSlowHandlersBoundedMemory(t *testing.T) {
	const (
		n     = 300
		every = time.Millisecond      // the stream: 1000 events a second
		work  = 10 * time.Millisecond // each handler: 100 a second
	)
	limits := wasm.Limits{Events: 32, Bytes: 64 << 10}
	topic := newKey(t)
	url := "_fixture/ssekit/events?topic=" + topic
	rec := map[string]*tracker{}
	var srcs []*wasm.Source
	for _, tr := range transports[:1] { // native, with a slow handler
		src := open(t, url, append([]wasm.Option{wasm.WithRegistry(liveRegistry), wasm.WithLimits(limits)}, tr.opts...)...)
		tk := &tracker{name: "native"}
		wasm.On(src, seqEvent, func(v int, m wasm.Meta) {
			<-time.After(work) // the handler's work, such as an awaited request
			tk.event(v, m)
		})
		src.OnError(tk.error)
		rec["native"], srcs = tk, append(srcs, src)
	}
	{ // fetch, with a slow loop body
		src := open(t, url, wasm.WithRegistry(liveRegistry), wasm.WithLimits(limits), wasm.WithFetch(wasm.Request{}))
		tk := &tracker{name: "fetch"}
		src.OnError(tk.error)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for v, m := range wasm.Events(ctx, src, seqEvent) {
				<-time.After(work)
				tk.event(v, m)
			}
		}()
		rec["fetch"], srcs = tk, append(srcs, src)
	}
	opened(t, srcs...)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse
	var maxQueued [2]int
	var maxHeap uint64
	sample := func() {
		for i, src := range srcs {
			if e, _ := wasm.Queued(src); e > maxQueued[i] {
				maxQueued[i] = e
			}
		}
		runtime.ReadMemStats(&ms)
		maxHeap = max(maxHeap, ms.HeapInuse)
	}
	startSequence(t, topic, n, every)
	start := time.Now()
	waitFor(t, time.Duration(n)*work*3+wait, "the handlers to catch up", func() bool {
		sample()
		return rec["native"].last() == n && rec["fetch"].last() == n
	})
	t.Logf("%d events published in %v, handled in %v; most queued: native %d, fetch %d (limit %d); heap in use %d KiB before, at most %d KiB",
		n, time.Duration(n)*every, time.Since(start).Round(time.Millisecond), maxQueued[0], maxQueued[1], limits.Events, heapBefore>>10, maxHeap>>10)
	for i, name := range []string{"native", "fetch"} {
		if maxQueued[i] > limits.Events {
			t.Errorf("%s: %d events queued; want at most the limit %d", name, maxQueued[i], limits.Events)
		}
		rec[name].exact(t, n)
	}
	if at, _ := rec["native"].firstError(start, func(err error) bool { return errors.Is(err, wasm.ErrQueueFull) }); at.IsZero() {
		t.Errorf("native: no ErrQueueFull; want the source to close and resume while its handlers are behind; errors:\n\t%s", rec["native"].errors())
	}
	t.Logf("native errors:\n\t%s", rec["native"].errors())
	t.Logf("fetch errors:\n\t%s", rec["fetch"].errors())
}
