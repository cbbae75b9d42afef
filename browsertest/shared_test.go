package browsertest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/debugger"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/internal/client"
)

// insecureHost is a name the browser of TestShared resolves to 127.0.0.1:
// a page served from it is not a secure context (only localhost and
// 127.0.0.0/8 are), so it has no Web Locks, and a shared source falls back
// on a connection of its own.
const insecureHost = "ssekit-insecure.test"

// TestShared drives wasm.WithShared in headless Chromium: tabs of one
// browser context (one user: storage, BroadcastChannel, Web Locks and the
// six HTTP/1.1 connections per origin are theirs together) open the page
// of internal/sharedpage, which streams a sequence (1, 2, 3, ...) from a
// Fixture's endpoint.
func TestShared(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	t.Parallel()
	b := browsertest.New(t, browsertest.WithAllocatorOptions(
		chromedp.Flag("host-resolver-rules", "MAP "+insecureHost+" 127.0.0.1"),
	))
	buildSharedPage(t)
	t.Run("ten-tabs", func(t *testing.T) { testSharedTenTabs(t, b) })
	t.Run("holder-closes", func(t *testing.T) { testSharedHolderCloses(t, b) })
	t.Run("holder-frozen", func(t *testing.T) { testSharedHolderFrozen(t, b) })
	t.Run("holder-hangs", func(t *testing.T) { testSharedHolderHangs(t, b) })
	t.Run("cursor", func(t *testing.T) { testSharedCursor(t, b) })
	t.Run("mixed-transports", func(t *testing.T) { testSharedMixed(t, b) })
	t.Run("names-and-urls", func(t *testing.T) { testSharedNames(t, b) })
	t.Run("fallback", func(t *testing.T) { testSharedFallback(t, b) })
	t.Run("late-state", func(t *testing.T) { testSharedLateState(t, b) })
}

// testSharedTenTabs: ten tabs of one user on one shared source; the
// server sees one stream, and every tab gets every event once, in order.
// It logs the bytes posted per event relayed.
func testSharedTenTabs(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	const tabs, n = 10, 300
	url := e.pageURL(stream("ten", "ten"), "name", "prices")
	var pages []*browsertest.Page
	for range tabs {
		pages = append(pages, openShared(t, u, url))
	}
	e.waitOpen(t, 1)
	e.sequence(t, "ten", n, 2*time.Millisecond)
	for _, p := range pages {
		waitValues(t, p, n)
	}
	for _, p := range pages {
		exact(t, p, 0, n)
	}
	if open, opened := e.f.Streams(); open != 1 || opened != 1 {
		t.Errorf("the server has %d streams open, %d opened, for %d tabs; want 1 and 1", open, opened, tabs)
	}
	var all sharedPosts
	for _, p := range pages {
		ps := posts(t, p)
		all.Msgs += ps.Msgs
		all.Bytes += ps.Bytes
		all.Batches += ps.Batches
		all.BatchBytes += ps.BatchBytes
	}
	t.Logf("%d tabs, 1 stream: %d events relayed in %d batches of %d bytes (%.1f bytes and %.2f messages per event); %d messages, %d bytes in all",
		tabs, n, all.Batches, all.BatchBytes, float64(all.BatchBytes)/n, float64(all.Batches)/n, all.Msgs, all.Bytes)
}

// testSharedHolderCloses: the holding tab closes mid-stream; another
// holds within the reconnection time, and no tab misses or repeats an
// event.
func testSharedHolderCloses(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	const n = 200
	url := e.pageURL(stream("close", "close"), "name", "feed")
	var pages []*browsertest.Page
	for range 4 {
		pages = append(pages, openShared(t, u, url))
	}
	e.waitOpen(t, 1)
	e.sequence(t, "close", n, 10*time.Millisecond)
	old := holder(t, pages)
	waitValues(t, old, 50)
	closed := time.Now()
	closeTab(t, b, old)
	rest := without(pages, old)
	took := e.requestAfter(t, "close", closed)
	next := holder(t, rest)
	t.Logf("holder closed: %s took over in %v (its request reached the server)", next.Name(), took.Round(time.Millisecond))
	if took > client.DefaultRetry {
		t.Errorf("takeover took %v; want within the reconnection time, %v", took, client.DefaultRetry)
	}
	for _, p := range rest {
		waitValues(t, p, n)
	}
	for _, p := range rest {
		exact(t, p, 0, n)
	}
	e.waitOpen(t, 1)
}

// testSharedHolderFrozen: the holding tab is frozen, as a browser freezes
// a background tab (Page.setWebLifecycleState); another takes over, and
// once it runs again the frozen tab relays nothing twice, and its own
// source gets every event once.
func testSharedHolderFrozen(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	const n = 200
	url := e.pageURL(stream("freeze", "freeze"), "name", "feed")
	var pages []*browsertest.Page
	for range 3 {
		pages = append(pages, openShared(t, u, url))
	}
	e.waitOpen(t, 1)
	e.sequence(t, "freeze", n, 20*time.Millisecond)
	old := holder(t, pages)
	waitValues(t, old, 40)
	frozen := time.Now()
	browsertest.Run(old, "freeze", cdpStep(page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: page.SetWebLifecycleStateStateFrozen}))
	rest := without(pages, old)
	next := holder(t, rest)
	t.Logf("holder frozen: %s took over in %v", next.Name(), e.requestAfter(t, "freeze", frozen).Round(time.Millisecond))
	waitValues(t, next, 100)
	resumed := time.Now()
	browsertest.Run(old, "resume", cdpStep(page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: page.SetWebLifecycleStateStateActive}))
	for _, p := range pages {
		waitValues(t, p, n)
	}
	for _, p := range pages {
		exact(t, p, 0, n)
	}
	if ps := posts(t, old); countSince(ps.BatchTimes, resumed) > 0 {
		t.Errorf("the frozen holder posted %d batches after it resumed; want none", countSince(ps.BatchTimes, resumed))
	}
	e.waitOpen(t, 1)
}

// testSharedHolderHangs: the holding tab's script stops without a word
// (paused in the debugger, as a tab that hangs, or one the system froze
// without a freeze event): after a few heartbeats of silence another tab
// steals the lock, and when the old holder runs again it relays nothing
// of what it read meanwhile.
func testSharedHolderHangs(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	const n = 300
	url := e.pageURL(beatingStream("hang", "hang"), "name", "feed")
	var pages []*browsertest.Page
	for range 3 {
		pages = append(pages, openShared(t, u, url))
	}
	e.waitOpen(t, 1)
	e.sequence(t, "hang", n, 20*time.Millisecond)
	old := holder(t, pages)
	waitValues(t, old, 30)
	browsertest.Run(old, "debugger enable", cdpStep(debugger.Enable, debugger.EnableParams{}))
	browsertest.Run(old, "debugger pause", cdpStep(debugger.Pause, cdp.Empty{}))
	paused := time.Now()
	rest := without(pages, old)
	next := holder(t, rest)
	t.Logf("holder hung: %s stole the lock and connected in %v", next.Name(), e.requestAfter(t, "hang", paused).Round(time.Millisecond))
	if steals := posts(t, next).Steals; steals == 0 {
		t.Errorf("%s took over without stealing the lock", next.Name())
	}
	waitValues(t, next, 150)
	resumed := time.Now()
	browsertest.Run(old, "debugger resume", cdpStep(debugger.Resume, debugger.ResumeParams{}))
	for _, p := range pages {
		waitValues(t, p, n)
	}
	for _, p := range pages {
		exact(t, p, 0, n)
	}
	if ps := posts(t, old); countSince(ps.BatchTimes, resumed) > 0 {
		t.Errorf("the hung holder posted %d batches after it resumed; want none", countSince(ps.BatchTimes, resumed))
	}
	e.waitOpen(t, 1)
}

// countSince counts the times (Date.now() values) at or after t.
func countSince(times []float64, t time.Time) int {
	n := 0
	for _, ms := range times {
		if ms >= float64(t.UnixMilli()) {
			n++
		}
	}
	return n
}

// testSharedCursor: a tab that joins with a snapshot's cursor behind the
// group's position gets exactly the events after its cursor: from the
// holder's history when the cursor is recent, and from a request of its
// own, closed once it has caught up, when it is older than the history.
func testSharedCursor(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	const n = 1200
	url := stream("cursor", "cursor")
	var pages []*browsertest.Page
	for range 2 {
		pages = append(pages, openShared(t, u, e.pageURL(url, "name", "feed")))
	}
	e.waitOpen(t, 1)
	e.sequence(t, "cursor", n, 0)
	waitValues(t, pages[0], n)
	ids := report(t, pages[0]).IDs
	for _, tt := range []struct {
		after int
		conns int // streams opened in all, once it has joined
	}{
		{1150, 1}, // in the holder's history
		{100, 2},  // older than the history (1024 events)
	} {
		p := openShared(t, u, e.pageURL(url, "name", "feed", "cursor", ids[tt.after-1]))
		waitValues(t, p, n-tt.after)
		exact(t, p, tt.after, n)
		if _, opened := e.f.Streams(); opened != uint64(tt.conns) {
			t.Errorf("cursor %s: %d streams opened; want %d", ids[tt.after-1], opened, tt.conns)
		}
		e.waitOpen(t, 1)
		pages = append(pages, p)
	}
	for _, p := range pages {
		if r := report(t, p); r.LastID != ids[n-1] {
			t.Errorf("%s: LastEventID %s; want %s", p.Name(), r.LastID, ids[n-1])
		}
	}
}

// testSharedMixed: tabs with the native transport and tabs with fetch
// share one stream, and go on doing so when the holder changes.
func testSharedMixed(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	const n = 150
	url := stream("mixed", "mixed")
	var pages []*browsertest.Page
	for i := range 3 {
		tr := map[bool]string{false: "native", true: "fetch"}[i%2 == 1]
		pages = append(pages, openShared(t, u, e.pageURL(url, "name", "feed", "transport", tr)))
	}
	e.waitOpen(t, 1)
	e.sequence(t, "mixed", n, 10*time.Millisecond)
	old := holder(t, pages)
	waitValues(t, old, 40)
	closeTab(t, b, old)
	rest := without(pages, old)
	holder(t, rest)
	for _, p := range rest {
		waitValues(t, p, n)
	}
	for _, p := range rest {
		exact(t, p, 0, n)
	}
	e.waitOpen(t, 1)
	if _, opened := e.f.Streams(); opened != 2 {
		t.Errorf("%d streams opened; want 2 (one per holder)", opened)
	}
}

// testSharedNames: sources with different names, or different URLs, never
// share: two names on one URL and one name on two URLs make three
// streams, each of which its tabs share; none gets the others' events.
func testSharedNames(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	const n = 50
	groups := []struct {
		name, topic string
		tabs        int
	}{{"a", "names", 2}, {"b", "names", 2}, {"a", "names2", 1}}
	var pages [][]*browsertest.Page
	for _, g := range groups {
		var ps []*browsertest.Page
		for range g.tabs {
			ps = append(ps, openShared(t, u, e.pageURL(stream(g.topic, g.name+g.topic), "name", g.name)))
		}
		pages = append(pages, ps)
	}
	e.waitOpen(t, len(groups))
	e.sequence(t, "names", n, 0)
	e.sequence(t, "names2", 2*n, 0)
	for i, ps := range pages {
		want := map[string]int{"names": n, "names2": 2 * n}[groups[i].topic]
		for _, p := range ps {
			waitValues(t, p, want)
			exact(t, p, 0, want)
		}
		if reqs := e.requests(t, groups[i].name+groups[i].topic); len(reqs) != 1 {
			t.Errorf("name %q, topic %s: %d stream requests; want 1", groups[i].name, groups[i].topic, len(reqs))
		}
	}
}

// testSharedFallback: on a page that is not a secure context there are no
// Web Locks; every tab reads the stream on a connection of its own.
func testSharedFallback(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	const tabs, n = 2, 50
	insecure := *e
	insecure.base = fmt.Sprintf("http://%s:%s", insecureHost, e.port)
	url := insecure.pageURL(stream("fallback", "fallback"), "name", "feed")
	var pages []*browsertest.Page
	for range tabs {
		p := openShared(t, u, url)
		if ps := posts(t, p); ps.Locks {
			t.Fatalf("%s: navigator.locks exists on %s; want an insecure context", p.Name(), url)
		}
		pages = append(pages, p)
	}
	e.waitOpen(t, tabs)
	e.sequence(t, "fallback", n, 0)
	for _, p := range pages {
		waitValues(t, p, n)
		exact(t, p, 0, n)
	}
}

// testSharedLateState: a tab that joins a running group gets its state:
// open, and the verdict of the hello on its own registry (here the
// server's fingerprint differs: a stale bundle), without a connection of
// its own.
func testSharedLateState(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	e := newSharedEnv(t)
	u := b.NewUser(t)
	script := `[{"body": "retry: 50\nid: x1-0\nevent: ssekit.hello\ndata: {\"fingerprint\":\"0123456789abcdef\",\"heartbeat\":15000}\n\nid: x1-1\nevent: seq\ndata: 1\n\n", "hold": true}]`
	resp, err := http.Post(e.base+"/_fixture/script/stale", "application/json", strings.NewReader(script))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("scripting the stream: %s", resp.Status)
	}
	url := e.pageURL("_fixture/stream/stale", "name", "stale")
	first := openShared(t, u, url)
	waitValues(t, first, 1)
	late := openShared(t, u, url)
	for _, p := range []*browsertest.Page{first, late} {
		p.Poll(`JSON.parse(sharedReport()).mismatches === 1`)
		if r := report(t, p); r.State != "open" || r.Opens != 1 {
			t.Errorf("%s: state %s, %d opens; want open, 1", p.Name(), r.State, r.Opens)
		}
	}
	if got := len(e.requests(t, "stale")); got != 1 {
		t.Errorf("%d requests of the stream; want 1", got)
	}
}
