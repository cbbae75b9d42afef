package browsertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/browsertest/internal/sharedreport"
)

// The helpers of TestShared: a page (internal/sharedpage, built once per
// run) that opens one source with the options of its query and reports
// what it delivered; a server per scenario with a Fixture for the stream;
// and a script in the page that counts what the page posts on its
// BroadcastChannels and whether it holds a Web Lock.

// sharedPosts is what the page's script counted of its posts.
type sharedPosts struct {
	Msgs       int       `json:"msgs"`
	Bytes      int       `json:"bytes"`
	Batches    int       `json:"batches"`
	BatchBytes int       `json:"batchBytes"`
	BatchTimes []float64 `json:"batchTimes"` // Date.now() of each batch
	Held       bool      `json:"held"`       // it holds a Web Lock
	Steals     int       `json:"steals"`     // lock requests with steal
	Locks      bool      `json:"locks"`      // navigator.locks exists
}

// sharedIndex is the page: the counting script, then Go's.
const sharedIndex = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sharedpage</title>
<script>
(() => {
	const posts = window.__posts = {msgs: 0, bytes: 0, batches: 0, batchBytes: 0, batchTimes: [], held: false, steals: 0, locks: !!navigator.locks};
	const post = BroadcastChannel.prototype.postMessage;
	BroadcastChannel.prototype.postMessage = function (m) {
		if (m instanceof Uint8Array) {
			posts.msgs++;
			posts.bytes += m.byteLength;
			if (m[0] === 0x42) { // "B": a batch of relayed events
				posts.batches++;
				posts.batchBytes += m.byteLength;
				posts.batchTimes.push(Date.now());
			}
		}
		return post.call(this, m);
	};
	if (navigator.locks) {
		const request = LockManager.prototype.request;
		LockManager.prototype.request = function (name, options, callback) {
			if (options && options.steal) posts.steals++;
			let granted = false;
			const p = request.call(this, name, options, lock => {
				const r = callback(lock);
				if (lock) {
					granted = true;
					posts.held = true;
					Promise.resolve(r).finally(() => { posts.held = false; });
				}
				return r;
			});
			p.catch(() => { if (granted) posts.held = false; });
			return p;
		};
	}
})();
</script>
<script src="wasm_exec.js"></script>
<script>
const go = new Go();
WebAssembly.instantiateStreaming(fetch("app.wasm"), go.importObject).then(r => go.run(r.instance));
</script>
</head><body></body></html>
`

var sharedApp struct {
	once sync.Once
	wasm []byte
	js   []byte
	err  error
}

// buildSharedPage builds internal/sharedpage once per run.
func buildSharedPage(tb testing.TB) (wasmBin, wasmExec []byte) {
	tb.Helper()
	sharedApp.once.Do(func() {
		dir, err := os.MkdirTemp("", "sharedpage-")
		if err != nil {
			sharedApp.err = err
			return
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out := filepath.Join(dir, "app.wasm")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./internal/sharedpage")
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			sharedApp.err = fmt.Errorf("GOOS=js GOARCH=wasm go build ./internal/sharedpage: %v\n%s", err, b)
			return
		}
		if sharedApp.wasm, sharedApp.err = os.ReadFile(out); sharedApp.err != nil {
			return
		}
		sharedApp.js, sharedApp.err = os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	})
	if sharedApp.err != nil {
		tb.Fatal(sharedApp.err)
	}
	return sharedApp.wasm, sharedApp.js
}

// sharedEnv is one scenario's server: the page, and a Fixture under
// /_fixture/ for the stream.
type sharedEnv struct {
	f    *browsertest.Fixture
	base string // http://127.0.0.1:port
	port string
}

func newSharedEnv(tb testing.TB) *sharedEnv {
	tb.Helper()
	wasmBin, wasmExec := buildSharedPage(tb)
	f := browsertest.NewFixture()
	static := func(contentType string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			// Cacheable, so that the browser compiles the bundle once
			// for all the tabs (its WebAssembly code cache).
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", static("text/html; charset=utf-8", []byte(sharedIndex)))
	mux.Handle("GET /wasm_exec.js", static("text/javascript", wasmExec))
	mux.Handle("GET /app.wasm", static("application/wasm", wasmBin))
	mux.Handle("/_fixture/", http.StripPrefix("/_fixture", f))
	srv := httptest.NewServer(mux)
	tb.Cleanup(func() {
		f.Close()
		srv.Close()
	})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return &sharedEnv{f: f, base: srv.URL, port: port}
}

// stream returns the URL, relative to the page, of the fixture's stream
// on topic, recorded under key. Its heartbeat interval is the server's
// default, 15 s: a tab takes over from a silent holder after 45 s, which a
// machine loaded with the other tests never makes a holder look like.
func stream(topic, key string) string {
	return "_fixture/ssekit/events?topic=" + url.QueryEscape(topic) + "&key=" + url.QueryEscape(key)
}

// beatingStream is stream with heartbeats every 500 ms
// (browsertest.FixtureHeartbeat): a tab takes over from a holder silent
// for 3 s.
func beatingStream(topic, key string) string {
	return "_fixture/ssekit/heartbeat/events?topic=" + url.QueryEscape(topic) + "&key=" + url.QueryEscape(key)
}

// pageURL returns the page's URL for a source of the stream at streamURL
// with the query's other parameters (name, transport, cursor).
func (e *sharedEnv) pageURL(streamURL string, params ...string) string {
	q := url.Values{"url": {streamURL}}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return e.base + "/?" + q.Encode()
}

// openShared opens a background tab of u on pageURL and waits until its
// source is open.
func openShared(tb testing.TB, u *browsertest.User, pageURL string) *browsertest.Page {
	tb.Helper()
	p := u.NewBackgroundPage(tb)
	p.Navigate(pageURL)
	p.Poll(`window.sharedReady === true && JSON.parse(sharedReport()).state === "open"`)
	return p
}

func report(tb testing.TB, p *browsertest.Page) sharedreport.Report {
	tb.Helper()
	var r sharedreport.Report
	if err := json.Unmarshal([]byte(browsertest.Eval[string](p, `sharedReport()`)), &r); err != nil {
		tb.Fatalf("%s: sharedReport(): %v", p.Name(), err)
	}
	return r
}

func posts(tb testing.TB, p *browsertest.Page) sharedPosts {
	tb.Helper()
	return browsertest.Eval[sharedPosts](p, `window.__posts`)
}

// waitValues waits until the page's source delivered n values.
func waitValues(tb testing.TB, p *browsertest.Page, n int) {
	tb.Helper()
	p.Poll(fmt.Sprintf(`JSON.parse(sharedReport()).values.length >= %d`, n))
}

// exact checks that the page's source delivered the values from+1 to to,
// each once and in order, with IDs whose sequence numbers grow.
func exact(tb testing.TB, p *browsertest.Page, from, to int) sharedreport.Report {
	tb.Helper()
	r := report(tb, p)
	want := make([]int, 0, to-from)
	for v := from + 1; v <= to; v++ {
		want = append(want, v)
	}
	if !slices.Equal(r.Values, want) {
		tb.Errorf("%s: values %s; want %d to %d, each once", p.Name(), summarize(r.Values), from+1, to)
	}
	last := uint64(0)
	for _, id := range r.IDs {
		n := idSeq(tb, id)
		if n <= last {
			tb.Errorf("%s: ID %s after sequence %d", p.Name(), id, last)
			break
		}
		last = n
	}
	if len(r.Resets) > 0 {
		tb.Errorf("%s: resets %v", p.Name(), r.Resets)
	}
	return r
}

func idSeq(tb testing.TB, id string) uint64 {
	tb.Helper()
	i := strings.LastIndexByte(id, '-')
	n, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil {
		tb.Fatalf("event ID %q is not an ssekit ID", id)
	}
	return n
}

func summarize(vs []int) string {
	if len(vs) <= 12 {
		return fmt.Sprint(vs)
	}
	return fmt.Sprint(len(vs), " values ", vs[:6], " ... ", vs[len(vs)-6:])
}

// sequence starts the fixture's sequence of n seq events on topic, one
// every every (0: all at once).
func (e *sharedEnv) sequence(tb testing.TB, topic string, n int, every time.Duration) {
	tb.Helper()
	u := fmt.Sprintf("%s/_fixture/ssekit/sequence?topic=%s&type=seq&n=%d&every=%s", e.base, url.QueryEscape(topic), n, every)
	resp, err := http.Post(u, "", nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		tb.Fatalf("POST %s = %s; want 202", u, resp.Status)
	}
	tb.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, e.base+"/_fixture/ssekit/sequence?topic="+url.QueryEscape(topic), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
}

// requests returns the stream requests the fixture recorded under key.
func (e *sharedEnv) requests(tb testing.TB, key string) []browsertest.FixtureRequest {
	tb.Helper()
	resp, err := http.Get(e.base + "/_fixture/requests/" + url.PathEscape(key))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var reqs []browsertest.FixtureRequest
	if err := json.NewDecoder(resp.Body).Decode(&reqs); err != nil {
		tb.Fatal(err)
	}
	return reqs
}

// requestAfter waits until the fixture recorded a stream request under
// key after t, and returns how long after t the first came.
func (e *sharedEnv) requestAfter(tb testing.TB, key string, t time.Time) time.Duration {
	tb.Helper()
	var d time.Duration
	waitUntil(tb, browsertest.DefaultStepTimeout, "a stream request under "+key+" after "+t.Format(time.StampMilli), func() bool {
		for _, r := range e.requests(tb, key) {
			if r.Time.After(t) {
				d = r.Time.Sub(t)
				return true
			}
		}
		return false
	})
	return d
}

// waitOpen waits until the fixture has n streams open.
func (e *sharedEnv) waitOpen(tb testing.TB, n int) {
	tb.Helper()
	waitUntil(tb, browsertest.DefaultStepTimeout, fmt.Sprintf("%d streams open", n), func() bool {
		open, _ := e.f.Streams()
		return open == n
	})
}

// waitUntil looks at cond every 25 ms until it holds, and fails the test
// after within.
func waitUntil(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("not %s within %v", what, within)
		}
	}
}

// holder returns the page that holds the group's lock, waiting until
// exactly one of pages does.
func holder(tb testing.TB, pages []*browsertest.Page) *browsertest.Page {
	tb.Helper()
	var h *browsertest.Page
	waitUntil(tb, browsertest.DefaultStepTimeout, "one page holding the lock", func() bool {
		var held []*browsertest.Page
		for _, p := range pages {
			if browsertest.Eval[bool](p, `window.__posts.held`) {
				held = append(held, p)
			}
		}
		if len(held) == 1 {
			h = held[0]
		}
		return len(held) == 1
	})
	return h
}

// closeTab closes p's tab, as a user does: the browser releases its lock.
func closeTab(tb testing.TB, b *browsertest.Browser, p *browsertest.Page) {
	tb.Helper()
	c := chromedp.FromContext(p.Context())
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
	defer cancel()
	if _, err := cdp.Call(ctx, c.Browser, target.CloseTarget, target.CloseTargetParams{TargetID: c.Target.TargetID}); err != nil {
		tb.Fatalf("closing %s: %v", p.Name(), err)
	}
}

func without(pages []*browsertest.Page, p *browsertest.Page) []*browsertest.Page {
	return slices.DeleteFunc(slices.Clone(pages), func(q *browsertest.Page) bool { return q == p })
}

// cdpStep is a DevTools command on the page, as a step of browsertest.Run.
func cdpStep[P, R any](cmd cdp.Command[P, R], params P) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cmd, params)
		return err
	})
}
