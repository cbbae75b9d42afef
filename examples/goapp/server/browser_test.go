package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/server"
)

// testInterval is the counter's tick in the test: fast, so that the
// reconnection (2 s, server.DefaultRetry) misses a score of ticks that the
// server must replay.
const testInterval = 100 * time.Millisecond

// TestGoApp drives the example in headless Chromium: the counter page
// renders live events; leaving it for the home page, with go-app's
// routing, closes its stream and frees what the stream held; coming back
// opens a new one; and a reconnection forced by the server loses no event
// and repeats none.
func TestGoApp(t *testing.T) {
	b := browsertest.New(t) // skips the test when there is no Chromium (fails it on CI)
	m := startServer(t, &Main{WebDir: buildApp(t), Interval: testInterval})
	p := b.NewPage(t)
	instrumentEventSource(t, p)

	// The home page streams nothing. Once the app runs, its counts are the
	// baseline that leaving the counter page must return to.
	p.Navigate(m.URL() + "/")
	// go-app removes its loader once the app's main function waits in
	// go-app's UI loop: from then on, go-app routes the clicks on links.
	p.Poll(`typeof goappExample === "object" && document.getElementById("app-wasm-loader") === null`)
	p.WaitVisible("#home")
	browsertest.Eval[bool](p, `globalThis.loadedOnce = true`) // gone if the page reloads
	base := counts(t, p)
	t.Logf("home page, before the counter page: %v", base)
	if base.Sources != 0 || base.Uncollected != 0 || base.EventSources != 0 || base.Listeners != 0 {
		t.Fatalf("home page before the counter page: %v; want no source, no EventSource, no listener", base)
	}

	for visit := 1; visit <= 2; visit++ {
		p.Click("#to-live")
		waitState(p, "open")
		waitTicks(p, 3)
		if !browsertest.Eval[bool](p, `globalThis.loadedOnce === true && location.pathname === "/live"`) {
			t.Fatalf("visit %d: the page was loaded again; want go-app to route to /live in place", visit)
		}
		mounted := counts(t, p)
		t.Logf("visit %d, counter page open: %v", visit, mounted)
		if mounted.Sources != 1 || mounted.EventSources != 1 || mounted.Listeners == 0 {
			t.Errorf("visit %d, counter page: %v; want 1 source and 1 EventSource with listeners", visit, mounted)
		}
		waitServer(t, m, "1 stream open", func(s server.Stats) bool { return s.Open == 1 })

		// Live: the count keeps rising.
		first := latest(t, p)
		p.Poll(fmt.Sprintf(`Number(document.querySelector("#latest").textContent) >= %d`, first+3))

		if visit == 2 {
			checkReconnect(t, p, m)
		}

		// Leave for the home page: OnDismount closes the source.
		p.Click(`nav a[href="/"]`)
		p.WaitVisible("#home")
		waitServer(t, m, "no stream open", func(s server.Stats) bool { return s.Open == 0 })
		p.Poll(fmt.Sprintf(`(() => {
			const c = goappExample.counts(), es = eventSourceCounts();
			return c.sources === 0 && c.uncollected === 0 && c.goroutines <= %d &&
				es.open === 0 && es.listeners === 0;
		})()`, base.Goroutines))
		left := counts(t, p)
		t.Logf("visit %d, back on the home page: %v", visit, left)
	}
}

// checkReconnect ends every stream on the server's side and checks that
// the page shows it reconnecting, then open again, and that the ticks it
// lists across the break are consecutive: each event once, none missing.
func checkReconnect(t *testing.T, p *browsertest.Page, m *Main) {
	t.Helper()
	// By now go-app's service worker controls the page, and would answer
	// the reconnection if live.ServiceWorker did not stop it.
	p.Poll(`navigator.serviceWorker.controller !== null`)
	// Record every state the page shows, however briefly.
	browsertest.Eval[bool](p, `(() => {
		const status = document.querySelector("#status");
		globalThis.states = [status.dataset.state];
		new MutationObserver(() => {
			if (states.at(-1) !== status.dataset.state) states.push(status.dataset.state);
		}).observe(status, {attributes: true, attributeFilter: ["data-state"]});
		return true;
	})()`)
	before := latest(t, p)
	replayed := m.Events.Stats().Replayed
	m.Events.DisconnectAll()

	p.Poll(`document.querySelector("#status").dataset.reconnects === "1"`)
	waitState(p, "open")
	// Wait past what the page missed while it was away (the server replays
	// it at once) and a few live ticks more.
	p.Poll(fmt.Sprintf(`Number(document.querySelector("#latest").textContent) >= %d`,
		before+int64(server.DefaultRetry/testInterval)+5))

	if states := browsertest.Eval[[]string](p, `states`); strings.Join(states, " ") != "open reconnecting open" {
		t.Errorf("states shown across the reconnection = %q; want open, reconnecting, open", states)
	}
	if got := m.Events.Stats().Replayed - replayed; got == 0 {
		t.Errorf("the server replayed no event to the reconnecting page; want those published while it was away")
	}

	ticks := browsertest.Eval[[]shownTick](p, `[...document.querySelectorAll("#ticks li")].map(li => ({n: Number(li.dataset.n), id: li.dataset.id}))`)
	// Newest first: each count one less than the one above it, each event
	// ID a sequence one less, and the count shown before the break among
	// them, with what came after it.
	var sawBefore bool
	for i, tk := range ticks {
		id, err := server.ParseEventID(tk.ID)
		if err != nil {
			t.Fatalf("tick %d shown with event ID %q: %v", tk.N, tk.ID, err)
		}
		if tk.N == before {
			sawBefore = true
		}
		if i == 0 {
			continue
		}
		prev := ticks[i-1]
		prevID, _ := server.ParseEventID(prev.ID)
		if tk.N != prev.N-1 || id.Seq != prevID.Seq-1 || id.Epoch != prevID.Epoch {
			t.Errorf("ticks shown %d (%s) then %d (%s); want consecutive counts and event IDs, newest first",
				prev.N, prev.ID, tk.N, tk.ID)
		}
	}
	if !sawBefore {
		t.Errorf("the ticks shown (%d to %d) do not reach back to %d, the last shown before the break",
			ticks[len(ticks)-1].N, ticks[0].N, before)
	}
	if s := browsertest.Eval[map[string]string](p, `({...document.querySelector("#summary").dataset})`); s["missing"] != "0" || s["repeated"] != "0" || s["resets"] != "0" {
		t.Errorf("summary after the reconnection = %v; want nothing missing, repeated or reset", s)
	}
	t.Logf("reconnection: %d ticks shown, %d to %d; the server replayed %d",
		len(ticks), ticks[len(ticks)-1].N, ticks[0].N, m.Events.Stats().Replayed-replayed)
}

// shownTick is a tick as the counter page lists it.
type shownTick struct {
	N  int64  `json:"n"`
	ID string `json:"id"`
}

// pageCounts are the counts the test reads from the page: those of the
// app (goappExample.counts, see app/main.go) and those of the
// EventSources (see instrumentEventSource).
type pageCounts struct {
	Goroutines   int `json:"goroutines"`
	Sources      int `json:"sources"`     // opened by a Counter and not closed
	Uncollected  int `json:"uncollected"` // Sources not garbage-collected yet
	EventSources int `json:"eventSources"`
	Listeners    int `json:"listeners"`
}

func (c pageCounts) String() string {
	return fmt.Sprintf("%d goroutines, %d sources open, %d not collected, %d EventSources open with %d listeners",
		c.Goroutines, c.Sources, c.Uncollected, c.EventSources, c.Listeners)
}

func counts(tb testing.TB, p *browsertest.Page) pageCounts {
	tb.Helper()
	return browsertest.Eval[pageCounts](p, `(() => {
		const c = goappExample.counts(), es = eventSourceCounts();
		return {...c, eventSources: es.open, listeners: es.listeners};
	})()`)
}

// instrumentEventSource makes every page p loads count its EventSources:
// eventSourceCounts() returns how many are not closed, and how many
// listeners are registered on all of them. The listeners are the
// JavaScript functions that ssekit's Source made: it releases each after
// removing it.
func instrumentEventSource(tb testing.TB, p *browsertest.Page) {
	tb.Helper()
	const script = `(() => {
		const all = [];
		const Native = EventSource;
		globalThis.EventSource = class extends Native {
			constructor(...args) {
				super(...args);
				this.listenersByType = new Map();
				all.push(this);
			}
			addEventListener(type, fn, opts) {
				if (!this.listenersByType.has(type)) this.listenersByType.set(type, new Set());
				this.listenersByType.get(type).add(fn);
				super.addEventListener(type, fn, opts);
			}
			removeEventListener(type, fn, opts) {
				this.listenersByType.get(type)?.delete(fn);
				super.removeEventListener(type, fn, opts);
			}
		};
		globalThis.eventSourceCounts = () => ({
			open: all.filter(es => es.readyState !== Native.CLOSED).length,
			listeners: all.reduce((n, es) => n + [...es.listenersByType.values()].reduce((m, s) => m + s.size, 0), 0),
		});
	})()`
	browsertest.Run(p, "add the EventSource counter", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
}

// waitState waits until the counter page shows the connection's state.
func waitState(p *browsertest.Page, state string) {
	p.Poll(`document.querySelector("#status")?.dataset.state === ` + jsString(state))
}

// waitTicks waits until the counter page lists at least n ticks.
func waitTicks(p *browsertest.Page, n int) {
	p.Poll(fmt.Sprintf(`document.querySelectorAll("#ticks li").length >= %d`, n))
}

// latest returns the latest count the page shows.
func latest(tb testing.TB, p *browsertest.Page) int64 {
	tb.Helper()
	return browsertest.Eval[int64](p, `Number(document.querySelector("#latest").textContent)`)
}

// waitServer waits, for at most browsertest.DefaultStepTimeout, until the
// stream server's stats satisfy ok.
func waitServer(tb testing.TB, m *Main, what string, ok func(server.Stats) bool) {
	tb.Helper()
	deadline := time.NewTimer(browsertest.DefaultStepTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !ok(m.Events.Stats()) {
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("server: not %s within %v; stats %+v", what, browsertest.DefaultStepTimeout, m.Events.Stats())
		}
	}
}

// buildApp builds the WebAssembly app (../app) into a temporary directory,
// as app.wasm, and returns the directory.
func buildApp(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "app.wasm"), "../app")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("GOOS=js GOARCH=wasm go build ../app: %v\n%s", err, out)
	}
	tb.Logf("built app.wasm in %v", time.Since(start).Round(time.Millisecond))
	return dir
}

// startServer runs m on 127.0.0.1 at a free port until the test ends.
func startServer(tb testing.TB, m *Main) *Main {
	tb.Helper()
	m.Addr = "127.0.0.1:0"
	if err := m.Run(context.Background()); err != nil {
		tb.Fatalf("Main.Run() = %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("Main.Close() = %v", err)
		}
	})
	return m
}

// jsString returns s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
