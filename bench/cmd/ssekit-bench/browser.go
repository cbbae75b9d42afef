package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssekit/ssekit/bench/internal/wire"
	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
)

const (
	browserTable = "8a. Browser: typed events in the page"
	bundleTable  = "8b. Browser: the demo bundle"
)

// browserTick is the harness payload as a typed event. Its codec passes
// the bytes through: they are JSON already, and the JSON codec would
// base64 a []byte.
var browserTick = schema.Define[[]byte]("tick", schema.WithCodec(rawCodec{}))

type rawCodec struct{}

func (rawCodec) Name() string                    { return "raw" }
func (rawCodec) Marshal(v any) ([]byte, error)   { return v.([]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error { *v.(*[]byte) = b; return nil }

const jsPage = `<!doctype html><meta charset="utf-8"><title>js</title><script>
const q = new URLSearchParams(location.search);
const n = +q.get("n"), mode = q.get("mode");
window.benchLat = [];
const es = new EventSource(q.get("url"));
es.onopen = () => { window.benchReady = true; };
let count = 0, first = 0, sum = 0;
es.addEventListener("tick", (e) => {
  const v = JSON.parse(e.data);
  if (mode === "throughput") {
    count++; sum += v.seq;
    if (count === 1) first = performance.now();
    if (count === n) { const last = performance.now(); es.close(); window.benchResult = {n, first, last, sum}; }
  } else {
    window.benchLat.push(performance.timeOrigin + performance.now() - v.t / 1e6);
  }
});
window.benchStarted = true;
</script>`

const wasmPage = `<!doctype html><meta charset="utf-8"><title>wasm</title><script src="/wasm_exec.js"></script><script>
window.benchLat = [];
const go = new Go();
WebAssembly.instantiateStreaming(fetch("/client.wasm"), go.importObject)
  .then((r) => go.run(r.instance))
  .catch((e) => { window.benchError = String(e); });
</script>`

// browserSite serves the pages, the wasm client and one ssekit stream per
// measurement, each on its own broker under /run/<name>/events.
type browserSite struct {
	dir string // client.wasm, wasm_exec.js
	mu  sync.Mutex
	run map[string]http.Handler
}

func (s *browserSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/js.html" || p == "/wasm.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if p == "/js.html" {
			io.WriteString(w, jsPage)
		} else {
			io.WriteString(w, wasmPage)
		}
	case p == "/client.wasm":
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, filepath.Join(s.dir, "client.wasm"))
	case p == "/wasm_exec.js":
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeFile(w, r, filepath.Join(s.dir, "wasm_exec.js"))
	case strings.HasPrefix(p, "/run/"):
		s.mu.Lock()
		h := s.run[strings.TrimSuffix(strings.TrimPrefix(p, "/run/"), "/events")]
		s.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	case p == "/favicon.ico":
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// stream is one measurement's broker and server.
type stream struct {
	broker *server.MemoryBroker
	srv    *server.Server
	path   string
}

func (s *browserSite) newStream(name string, retain int) *stream {
	var opts []server.MemoryOption
	if retain > 0 {
		opts = append(opts, server.WithRetention(retain, 0))
	}
	b := server.NewMemoryBroker(opts...)
	srv := server.New(b, server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), server.WithMaxConnections(0, 0))
	s.mu.Lock()
	s.run[name] = srv
	s.mu.Unlock()
	return &stream{broker: b, srv: srv, path: "/run/" + name + "/events?topic=t"}
}

func (s *browserSite) drop(name string, st *stream) {
	s.mu.Lock()
	delete(s.run, name)
	s.mu.Unlock()
	_ = st.srv.Shutdown(context.Background())
	_ = st.broker.Close()
}

func (st *stream) publish(p []byte) (string, error) {
	return server.Publish(context.Background(), st.broker, "t", browserTick, p)
}

// variant is one kind of page.
type variant struct{ name, page, transport string }

var variants = []variant{
	{"js", "/js.html", ""},
	{"ssekit", "/wasm.html", "eventsource"},
	{"ssekit (fetch)", "/wasm.html", "fetch"},
	{"Go wasm, no ssekit", "/wasm.html", "raw"},
}

func runBrowser(ctx context.Context, c *config) error {
	rec := c.rec
	mod, err := moduleDir()
	if err != nil {
		return err
	}
	bundleSizes(c, filepath.Dir(mod))

	chromium, err := browsertest.FindChromium()
	if err != nil {
		rec.Note(browserTable, "Not measured: "+err.Error())
		return nil
	}
	dir, err := os.MkdirTemp("", "ssekit-bench-wasm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf("  building the wasm client (GOOS=js GOARCH=wasm) into %s", dir)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s", "-o", filepath.Join(dir, "client.wasm"), "./wasmclient")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the wasm client: %v\n%s", err, out)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	if err := copyFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"), filepath.Join(dir, "wasm_exec.js")); err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(dir, "client.wasm")); err == nil {
		rec.Note(browserTable, fmt.Sprintf("The wasm client (bench/wasmclient: package wasm, one typed event, no net/http) is %s raw, built with -trimpath -ldflags=-s.",
			formatValue(float64(fi.Size()), "B")))
	}

	site := &browserSite{dir: dir, run: make(map[string]http.Handler)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: site}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()

	bctx, cancel, err := browsertest.NewBrowser(ctx, browsertest.WithExecPath(chromium))
	if err != nil {
		return err
	}
	defer cancel()

	n := pick(c, 5000, 20000)
	rates := []float64{100, 1000}
	window := pick(c, 2*time.Second, 5*time.Second)
	rec.Intro(browserTable, fmt.Sprintf("Headless Chromium (browsertest.NewBrowser), one tab per measurement, against an ssekit server in this process. \"js\" is a page "+
		"with no wasm: EventSource and JSON.parse. \"ssekit\" is a page running bench/wasmclient, built by the harness with GOOS=js GOARCH=wasm: wasm.Open and "+
		"wasm.On decoding each event into a Go struct, through the browser's EventSource, and \"ssekit (fetch)\" the same through wasm.WithFetch (fetch() and "+
		"the Go sse.Decoder). \"Go wasm, no ssekit\" is the same wasm program receiving the events through a bare syscall/js.FuncOf "+
		"listener on an EventSource and decoding them with encoding/json: the floor of a Go callback per event. Throughput: %s events (100-byte JSON) are published before the page connects and replayed to it in one burst (the page passes "+
		"lastEventId); the figure is events over the time between the first and the last handler call. Latency: the page's clock (performance.timeOrigin + "+
		"performance.now()) when the handler runs minus the send time in the payload (time.Now() just before server.Publish), at a steady rate for %v.",
		fmtN(n), window))
	for round := range pick(c, 1, c.rounds) {
		for _, v := range rotate(variants, round) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			name := fmt.Sprintf("tp-%d-%d", round, slices.Index(variants, v))
			rate, err := browserThroughput(bctx, site, base, name, v, n)
			if err != nil {
				rec.Fail(browserTable, v.name, fmt.Errorf("throughput: %w", err))
			} else {
				rec.Add(browserTable, "typed events decoded per second", "/s", higher, v.name, round, rate)
			}
			for _, r := range rates {
				name := fmt.Sprintf("lat-%d-%d-%.0f", round, slices.Index(variants, v), r)
				lat, err := browserLatency(bctx, site, base, name, v, r, window)
				if err != nil {
					rec.Fail(browserTable, v.name, fmt.Errorf("latency at %.0f/s: %w", r, err))
					continue
				}
				label := fmt.Sprintf("%s events/s: publish-to-callback latency", fmtN(int(r)))
				rec.Add(browserTable, label+" p50", "ns", lower, v.name, round, float64(lat.p50))
				rec.Add(browserTable, label+" p99", "ns", lower, v.name, round, float64(lat.p99))
				rec.Add(browserTable, fmt.Sprintf("%s events/s: events received", fmtN(int(r))), "%", higher, v.name, round, lat.received)
			}
		}
	}
	rec.Gap(browserTable, "decoded per second", "Throughput through EventSource: every event is a JavaScript-to-Go callback (syscall/js resumes the Go scheduler, "+
		"runs until every goroutine is idle, and returns), and package wasm reads four string properties of each MessageEvent (type, data, lastEventId, origin), "+
		"each a copy across the boundary, then hands the event to its dispatcher goroutine. The bare FuncOf listener (\"Go wasm, no ssekit\") shows that the "+
		"callback alone costs most of it; the fetch transport, which decodes whole chunks in one resume, is several times faster. What would close the gap: "+
		"queue events in JavaScript (a small listener that pushes [type, data, lastEventId] onto an array) and enter Go once per batch (one callback per task), "+
		"read origin once per connection rather than per event, and take the type from the listener's registration.")
	rec.Gap(browserTable, "latency", "Latency: the same per-event callback cost, and the dispatcher goroutine hop; at these rates the medians are within a fraction of a millisecond of JavaScript.")
	rec.Note(browserTable, "The ratio columns compare the wasm client through EventSource (\"ssekit\") with plain JavaScript; \"ssekit (fetch)\" is the wasm client's other transport.")
	return nil
}

// browserThroughput publishes n events, then opens the page, which has
// them all replayed, and returns events per second between its first and
// last handler call.
func browserThroughput(bctx context.Context, site *browserSite, base, name string, v variant, n int) (float64, error) {
	st := site.newStream(name, n+16)
	defer site.drop(name, st)
	var first string
	for i := range n + 1 {
		id, err := st.publish(wire.Payload(uint64(i), 0))
		if err != nil {
			return 0, err
		}
		if i == 0 {
			first = id
		}
	}
	tab, closeTab := chromedp.NewContext(bctx)
	defer closeTab()
	u := fmt.Sprintf("%s%s?mode=throughput&n=%d&transport=%s&url=%s", base, v.page, n, v.transport, queryEscape(st.path+"&lastEventId="+first))
	type result struct {
		N           int
		First, Last float64
	}
	res, err := runPage[result](tab, u, "window.benchResult", 120*time.Second)
	if err != nil {
		return 0, err
	}
	if res.Last <= res.First {
		return 0, fmt.Errorf("bad result %+v", res)
	}
	return float64(res.N-1) / ((res.Last - res.First) / 1000), nil
}

type latencyResult struct {
	p50, p99 time.Duration
	received float64
}

// browserLatency opens the page, waits until it is connected, publishes at
// rate for window and returns the latencies the page measured.
func browserLatency(bctx context.Context, site *browserSite, base, name string, v variant, rate float64, window time.Duration) (latencyResult, error) {
	var res latencyResult
	st := site.newStream(name, 0)
	defer site.drop(name, st)
	tab, closeTab := chromedp.NewContext(bctx)
	defer closeTab()
	u := fmt.Sprintf("%s%s?mode=latency&transport=%s&url=%s", base, v.page, v.transport, queryEscape(st.path))
	if _, err := runPage[bool](tab, u, "window.benchReady === true", 60*time.Second); err != nil {
		return res, err
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	published := 0
	for i := 0; time.Since(start) < window; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		if _, err := st.publish(wire.Payload(uint64(i), time.Now().UnixNano())); err != nil {
			return res, err
		}
		published++
	}
	// Wait for the last events, up to 5s.
	cond := fmt.Sprintf("window.benchLat.length >= %d", published)
	tctx, cancel := context.WithTimeout(tab, 5*time.Second)
	_, _ = chromedp.Run(tctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
	cancel()
	tctx, cancel = context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	lat, err := chromedp.Run(tctx, chromedp.Evaluate[[]float64]("window.benchLat"))
	if err != nil {
		return res, err
	}
	if len(lat) == 0 {
		return res, errors.New("the page received no event")
	}
	slices.Sort(lat)
	ms := func(q float64) time.Duration {
		return time.Duration(lat[int(q*float64(len(lat)-1))] * float64(time.Millisecond))
	}
	res.p50, res.p99 = ms(0.5), ms(0.99)
	res.received = 100 * float64(len(lat)) / float64(published)
	return res, nil
}

// runPage navigates tab to u and polls cond until it is truthy, returning
// its value; a page error (window.benchError) fails it.
func runPage[T any](tab context.Context, u, cond string, limit time.Duration) (T, error) {
	var zero T
	// The first action on a new tab opens it: no deadline on that one.
	if err := chromedp.Do(tab); err != nil {
		return zero, err
	}
	tctx, cancel := context.WithTimeout(tab, limit)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(u)); err != nil {
		return zero, err
	}
	expr := fmt.Sprintf("window.benchError ? {error: String(window.benchError)} : (%s) ? {ok: %s} : null", cond, cond)
	type wrapped struct {
		Error string
		OK    T
	}
	w, err := chromedp.Run(tctx, chromedp.Poll[wrapped](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(limit)))
	if err != nil {
		ectx, ecancel := context.WithTimeout(tab, 5*time.Second)
		defer ecancel()
		last, _ := chromedp.Run(ectx, chromedp.Evaluate[string]("String(window.benchLastError || '')"))
		return zero, fmt.Errorf("%w (page's last error: %q)", err, last)
	}
	if w.Error != "" {
		return zero, errors.New("page: " + w.Error)
	}
	return w.OK, nil
}

func queryEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "?", "%3F", "=", "%3D", "+", "%2B", "#", "%23", " ", "%20")
	return r.Replace(s)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// bundleSizes reports the demo bundle's sizes, running `make web` at the
// repository's root when it has not been built.
func bundleSizes(c *config, repo string) {
	rec := c.rec
	static := filepath.Join(repo, "web", "static")
	wasmFile := filepath.Join(static, "app.wasm")
	if _, err := os.Stat(wasmFile + ".br"); err != nil {
		logf("  %s missing: running make web", wasmFile+".br")
		cmd := exec.Command("make", "web")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			rec.Fail(bundleTable, "ssekit", fmt.Errorf("make web: %v\n%s", err, out))
			return
		}
	}
	rec.Intro(bundleTable, "The demo's bundle (web/static/app.wasm: the demo page, package wasm, encoding/json, no net/http) as `make web` builds it "+
		"(GOOS=js GOARCH=wasm go build -trimpath -ldflags=-s, then brotli quality 11 and gzip -9 by web/cmd/precompress).")
	for _, f := range []struct{ suffix, label string }{{"", "app.wasm, raw"}, {".gz", "app.wasm, gzip"}, {".br", "app.wasm, brotli"}} {
		fi, err := os.Stat(wasmFile + f.suffix)
		if err != nil {
			rec.Fail(bundleTable, "ssekit", err)
			continue
		}
		rec.Add(bundleTable, f.label, "B", neither, "ssekit", 0, float64(fi.Size()))
	}
	if fi, err := os.Stat(wasmFile); err == nil {
		state := "up to date with its sources (make -q web)"
		if err := exec.Command("make", "-C", repo, "-q", "web").Run(); err != nil {
			state = "older than some of its sources (make -q web): the figures are of the bundle as built then"
		}
		rec.Note(bundleTable, fmt.Sprintf("Measured on the bundle built %s, %s.", fi.ModTime().UTC().Format("2006-01-02 15:04 MST"), state))
	}
	if fi, err := os.Stat(filepath.Join(static, "wasm_exec.js.br")); err == nil {
		rec.Note(bundleTable, fmt.Sprintf("wasm_exec.js, which the page loads too, is %s brotli.", formatValue(float64(fi.Size()), "B")))
	}
}
