package main

import (
	"context"
	"errors"
	"flag"
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
	sizeTable    = "8c. Browser: what the client adds to a bundle"
)

// What is left between the wasm client and plain JavaScript, for "Where
// ssekit is behind".
const (
	browserThroughputGap = "What is left between the wasm client and plain JavaScript, in the main thread's CPU time per event (profiled with -browser-profile): " +
		"with the default codec, encoding/json's reflection, about as much as all the rest (schema.FlatJSON, the fast codec, removes it); " +
		"through EventSource, the events cross into Go in batches (JavaScript only pushes each MessageEvent onto an array; a MessageChannel message drains it), " +
		"and what remains per event is reading its type, ID and data out of the MessageEvent (three getter calls and a join in JavaScript, one UTF-8 copy across), " +
		"the hand-over to the source's goroutine and the decode; the fetch transport pays only the Go side (the sse.Decoder, the dispatcher, the decode). " +
		"Go's garbage collector, and the finalizer of every js.Value that JavaScript hands Go, run on the page's one thread, where V8 collects on others."
	browserLatencyGap = "Latency: an event that comes alone crosses into Go twice (its wake-up, which handles it at once, then the drain message that re-arms the wake-up), " +
		"and the tail is Go's garbage collection and the js.Value finalizers it runs, on the page's thread; the fast codec allocates less, so it collects less often."
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
let count = 0, first = 0, sum = 0;
window.benchGo = () => {
  const es = new EventSource(q.get("url"));
  es.onopen = () => { window.benchReady = true; };
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
};
window.benchLoaded = true;
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

// variant is one kind of page: the page, and for the wasm client its
// transport (eventsource, fetch or raw) and codec (json or fast).
type variant struct{ name, page, transport, codec string }

// The ratio columns of the report compare "ssekit" (the EventSource
// transport and the default codec) with every other variant; the rows
// "÷ js" compare every variant with plain JavaScript, round by round.
var browserVariants = flag.String("browser-variants", "", "browser scenario: the pages to measure, by name, separated by semicolons (default all)")

var variants = []variant{
	{"js", "/js.html", "", ""},
	{"ssekit", "/wasm.html", "eventsource", "json"},
	{"ssekit (fetch)", "/wasm.html", "fetch", "json"},
	{"ssekit, fast codec", "/wasm.html", "eventsource", "fast"},
	{"ssekit (fetch), fast codec", "/wasm.html", "fetch", "fast"},
	{"Go wasm, no ssekit", "/wasm.html", "raw", "json"},
}

func runBrowser(ctx context.Context, c *config) error {
	rec := c.rec
	mod, err := moduleDir()
	if err != nil {
		return err
	}
	rec.Intro(browserTable, "") // the tables in the order of their numbers
	bundleSizes(c, filepath.Dir(mod))
	sizeCheck(ctx, c, filepath.Dir(mod))

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
	ldflags := "-ldflags=-s"
	if *browserProfile != "" {
		ldflags = "-ldflags=" // keep the function names for the profiles
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", ldflags, "-o", filepath.Join(dir, "client.wasm"), "./wasmclient")
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
		rec.Note(browserTable, fmt.Sprintf("The wasm client (bench/wasmclient: package wasm, one typed event, no net/http) is %s raw, built with -trimpath %s.",
			formatValue(float64(fi.Size()), "B"), ldflags))
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
	rates := pick(c, []float64{1000}, []float64{100, 1000})
	window := pick(c, 2*time.Second, 5*time.Second)
	rec.Intro(browserTable, fmt.Sprintf("Headless Chromium (browsertest.NewBrowser), one tab per measurement, against an ssekit server in this process. \"js\" is a page "+
		"with no wasm: EventSource and JSON.parse. \"ssekit\" is a page running bench/wasmclient, built by the harness with GOOS=js GOARCH=wasm: wasm.Open and "+
		"wasm.On decoding each event into a Go struct with the default codec (schema.JSON, encoding/json), through the browser's EventSource, and \"ssekit (fetch)\" the same through wasm.WithFetch (fetch() and "+
		"the Go sse.Decoder); \"fast codec\" is the same with the event defined WithCodec(schema.FlatJSON[Tick]()). \"Go wasm, no ssekit\" is the same wasm program receiving the events through a bare syscall/js.FuncOf "+
		"listener on an EventSource and decoding them with encoding/json: a Go callback per event. Throughput: %s events (100-byte JSON) are published before the page connects and replayed to it in one burst (the page passes "+
		"lastEventId); the figure is events over the time between the first and the last handler call, and the main thread's CPU time per event is the page's TaskDuration "+
		"(DevTools protocol, Performance domain, thread ticks) from just before the page connects to the last handler call, divided by the events: the cost to the page whatever else the machine runs. "+
		"Latency: the page's clock (performance.timeOrigin + "+
		"performance.now()) when the handler runs minus the send time in the payload (time.Now() just before server.Publish), at a steady rate for %v. "+
		"Every \"÷ js\" row is the median of the per-round ratios to js.",
		fmtN(n), window))
	measured := variants
	if *browserVariants != "" {
		measured = nil
		for _, name := range strings.Split(*browserVariants, ";") {
			i := slices.IndexFunc(variants, func(v variant) bool { return v.name == strings.TrimSpace(name) })
			if i < 0 {
				return fmt.Errorf("-browser-variants: no variant %q", name)
			}
			measured = append(measured, variants[i])
		}
	}
	for round := range c.rounds {
		rateOf, p99Of := map[string]float64{}, map[string]float64{} // this round's, by variant
		for _, v := range rotate(measured, round) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			name := fmt.Sprintf("tp-%d-%d", round, slices.Index(variants, v))
			tp, err := browserThroughput(bctx, site, base, name, v, n)
			if err != nil {
				rec.Fail(browserTable, v.name, fmt.Errorf("throughput: %w", err))
			} else {
				rec.Add(browserTable, "typed events decoded per second", "/s", higher, v.name, round, tp.rate)
				rec.Add(browserTable, "main thread's CPU time per event", "ns", lower, v.name, round, tp.cpuPerEvent)
				rateOf[v.name] = tp.rate
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
				if r == 1000 {
					p99Of[v.name] = float64(lat.p99)
				}
			}
		}
		// The ratios to js, once the round has measured every variant.
		for _, v := range measured {
			if v.name == "js" {
				continue
			}
			if x, js := rateOf[v.name], rateOf["js"]; x > 0 && js > 0 {
				rec.Add(browserTable, "typed events decoded per second ÷ js", "×", neither, v.name, round, x/js)
			}
			if x, js := p99Of[v.name], p99Of["js"]; x > 0 && js > 0 {
				rec.Add(browserTable, "1,000 events/s: p99 latency ÷ js", "×", neither, v.name, round, x/js)
			}
		}
	}
	rec.Gap(browserTable, "decoded per second", browserThroughputGap)
	rec.Gap(browserTable, "CPU time", browserThroughputGap)
	rec.Gap(browserTable, "latency", browserLatencyGap)
	rec.Note(browserTable, "The ratio columns compare the wasm client through EventSource with the default codec (\"ssekit\") with every other page.")
	return nil
}

type throughputResult struct {
	rate        float64 // events per second between the first and the last handler call
	cpuPerEvent float64 // the main thread's CPU time per event, ns
}

// browserThroughput publishes n events, then opens the page, which has
// them all replayed, and returns events per second between its first and
// last handler call, and the page's main-thread CPU time per event from
// just before it connected to its last handler call.
func browserThroughput(bctx context.Context, site *browserSite, base, name string, v variant, n int) (throughputResult, error) {
	var res throughputResult
	st := site.newStream(name, n+16)
	defer site.drop(name, st)
	var first string
	for i := range n + 1 {
		id, err := st.publish(wire.Payload(uint64(i), 0))
		if err != nil {
			return res, err
		}
		if i == 0 {
			first = id
		}
	}
	tab, closeTab := chromedp.NewContext(bctx)
	defer closeTab()
	u := fmt.Sprintf("%s%s?mode=throughput&n=%d&transport=%s&codec=%s&url=%s", base, v.page, n, v.transport, v.codec, queryEscape(st.path+"&lastEventId="+first))
	if _, err := runPage[bool](tab, u, "window.benchLoaded === true", 60*time.Second); err != nil {
		return res, err
	}
	if err := enableMainThreadCPU(tab); err != nil {
		return res, err
	}
	cpu0, err := mainThreadCPU(tab)
	if err != nil {
		return res, err
	}
	if *browserProfile != "" {
		if err := startProfile(tab); err != nil {
			return res, err
		}
	}
	type result struct {
		N           int
		First, Last float64
	}
	r, err := goPage[result](tab, "window.benchResult", 120*time.Second)
	if err != nil {
		return res, err
	}
	cpu1, err := mainThreadCPU(tab)
	if err != nil {
		return res, err
	}
	if *browserProfile != "" {
		if err := stopProfile(tab, *browserProfile, strings.NewReplacer(" ", "_", "(", "", ")", "", ",", "").Replace(v.name)+"-"+name, r.N); err != nil {
			return res, fmt.Errorf("profile: %w", err)
		}
	}
	if r.Last <= r.First {
		return res, fmt.Errorf("bad result %+v", r)
	}
	res.rate = float64(r.N-1) / ((r.Last - r.First) / 1000)
	res.cpuPerEvent = (cpu1 - cpu0) * 1e9 / float64(r.N)
	return res, nil
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
	u := fmt.Sprintf("%s%s?mode=latency&transport=%s&codec=%s&url=%s", base, v.page, v.transport, v.codec, queryEscape(st.path))
	if _, err := runPage[bool](tab, u, "window.benchLoaded === true", 60*time.Second); err != nil {
		return res, err
	}
	if _, err := goPage[bool](tab, "window.benchReady === true", 60*time.Second); err != nil {
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
	return pollPage[T](tab, cond, limit)
}

// goPage starts the loaded page (window.benchGo(): it connects) and polls
// cond as runPage does.
func goPage[T any](tab context.Context, cond string, limit time.Duration) (T, error) {
	var zero T
	tctx, cancel := context.WithTimeout(tab, 10*time.Second)
	_, err := chromedp.Run(tctx, chromedp.Evaluate[bool]("window.benchGo(), true"))
	cancel()
	if err != nil {
		return zero, fmt.Errorf("benchGo: %w", err)
	}
	return pollPage[T](tab, cond, limit)
}

func pollPage[T any](tab context.Context, cond string, limit time.Duration) (T, error) {
	var zero T
	tctx, cancel := context.WithTimeout(tab, limit)
	defer cancel()
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

// sizeCheck builds the size-check programs of wasm/internal/sizecheck as
// an application would ship them (GOOS=js GOARCH=wasm go build -trimpath
// -ldflags='-s -w', brotli quality 11 and gzip -9 by web/cmd/precompress)
// and reports what each adds to hello, a JSON hello world.
func sizeCheck(ctx context.Context, c *config, repo string) {
	rec := c.rec
	root := filepath.Join(repo, "wasm", "internal", "sizecheck")
	entries, err := os.ReadDir(root)
	if err != nil {
		rec.Fail(sizeTable, "sizecheck", err)
		return
	}
	progs := []string{"hello"}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "hello" {
			progs = append(progs, e.Name())
		}
	}
	dir, err := os.MkdirTemp("", "ssekit-bench-size-")
	if err != nil {
		rec.Fail(sizeTable, "sizecheck", err)
		return
	}
	defer os.RemoveAll(dir)
	var files []string
	for _, p := range progs {
		out := filepath.Join(dir, p+".wasm")
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./wasm/internal/sizecheck/"+p)
		build.Dir = repo
		build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if b, err := build.CombinedOutput(); err != nil {
			rec.Fail(sizeTable, p, fmt.Errorf("go build: %v\n%s", err, b))
			return
		}
		files = append(files, out)
	}
	// Brotli at quality 11 takes seconds a program: two at a time.
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "precompress"), "./web/cmd/precompress")
	build.Dir = repo
	if b, err := build.CombinedOutput(); err != nil {
		rec.Fail(sizeTable, "sizecheck", fmt.Errorf("building precompress: %v\n%s", err, b))
		return
	}
	var wg sync.WaitGroup
	errs := make([]error, len(files))
	sem := make(chan struct{}, 2)
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if b, err := exec.CommandContext(ctx, filepath.Join(dir, "precompress"), f).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("precompress %s: %v\n%s", filepath.Base(f), err, b)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		rec.Fail(sizeTable, "sizecheck", err)
		return
	}
	rec.Intro(sizeTable, "The programs of wasm/internal/sizecheck, built as an application ships them: GOOS=js GOARCH=wasm go build -trimpath "+
		"-ldflags='-s -w', then brotli quality 11 and gzip -9 (web/cmd/precompress). hello is a JSON hello world (encoding/json's Marshal), the baseline; "+
		"client opens one source and handles one event type (wasm.Open and wasm.On, the default codec); each other program is client with one more thing, "+
		"named in its package doc. \"over hello\" is what a program adds to hello, the cost of ssekit in a bundle that already encodes JSON.")
	size := map[string][3]float64{}
	for _, p := range progs {
		var s [3]float64
		for i, suffix := range []string{"", ".gz", ".br"} {
			fi, err := os.Stat(filepath.Join(dir, p+".wasm"+suffix))
			if err != nil {
				rec.Fail(sizeTable, p, err)
				return
			}
			s[i] = float64(fi.Size())
		}
		size[p] = s
	}
	for i, label := range []string{"raw", "gzip", "brotli"} {
		for _, p := range progs {
			rec.Add(sizeTable, label, "B", neither, p, 0, size[p][i])
		}
	}
	for i, label := range []string{"raw over hello", "gzip over hello", "brotli over hello"} {
		for _, p := range progs[1:] {
			rec.Add(sizeTable, label, "B", neither, p, 0, size[p][i]-size["hello"][i])
		}
	}
	if client, ok := size["client"]; ok {
		for _, p := range progs[2:] {
			rec.Add(sizeTable, "brotli over client", "B", neither, p, 0, size[p][2]-client[2])
		}
	}
}
