package browsertest_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpnetwork "github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/cmd/ssekit-demo/demo"
)

// The scenarios of TestDemo about the page as a newcomer meets it: while it
// loads, at any width, what its status bar says, what it shows first.

// testLoading: while the bundle downloads (at 100 KB/s), nothing of the app
// shows but the progress bar, and the chat form cannot submit natively (it
// would reload the page with the message in the URL); once the app runs,
// the page is where it was.
func testLoading(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	m := startDemo(t, &demo.Main{Tick: -1})
	p := b.NewPage(t)
	emulateNetwork(p, throttled(m.URL()+"/app.wasm*", 100_000))
	p.Navigate(m.URL() + "/?user=lou")
	p.Poll(`document.querySelector("#loading-bar").value > 0`)
	// One evaluation, so that it all happens while the bundle loads. A
	// submit that slips through (Enter in a field, a script) is cancelled
	// by the static page itself.
	type view struct {
		Shown     []string `json:"shown"`
		Progress  float64  `json:"progress"`
		Prevented bool     `json:"prevented"`
	}
	early := browsertest.Eval[view](p, `(() => {
		const shown = ["#app", "#prices", "#chat-form", "#chat-log", "#presence"].filter(s => document.querySelector(s).checkVisibility());
		const f = document.querySelector("#chat-form");
		f.elements.user.value = "lou";
		f.elements.text.value = "too early";
		let prevented = false;
		addEventListener("submit", e => { prevented = e.defaultPrevented; }, {once: true});
		f.requestSubmit();
		return {shown, progress: document.querySelector("#loading-bar").value, prevented};
	})()`)
	if early.Progress >= 1 {
		t.Fatalf("the bundle had loaded already (progress %v): no check of the page while it loads", early.Progress)
	}
	if len(early.Shown) > 0 {
		t.Errorf("while the bundle loads (%.0f%%), %v show", 100*early.Progress, early.Shown)
	}
	if !early.Prevented {
		t.Errorf("while the bundle loads, submitting the chat form was not cancelled: it submits natively")
	}
	emulateNetwork(p)
	waitState(t, p, "open")
	if got := browsertest.Eval[string](p, `location.search`); got != "?user=lou" {
		t.Errorf("the page's query is %q; want ?user=lou (the form submitted natively)", got)
	}
	p.WaitVisible("#chat-form")
	if n := p.Count(chatItems); n != 0 {
		t.Errorf("%d chat messages; want none sent before the app ran", n)
	}
}

// statusJS returns the status bar's controls' boxes, and the live regions
// in it, as JSON.
const statusJS = `JSON.stringify({
	controls: ["#status .state", "#status-id", "#status-reconnects", "#transport", "#token", "#drop", "#restore"].map(s => {
		const r = document.querySelector(s).getBoundingClientRect();
		return [s, Math.round(r.x), Math.round(r.y), Math.round(r.width)];
	}),
	live: [...document.querySelectorAll('#status [role=status], #status [role=alert], #status [role=log], #status [aria-live]:not([aria-live=off]), #status[role], #status[aria-live]')].map(e => e.id),
	idLive: !!document.querySelector("#status-id").closest('[role=status], [role=alert], [role=log], [aria-live]:not([aria-live=off])'),
})`

type statusBar struct {
	Controls [][]any `json:"controls"`
	Live     []string
	IDLive   bool `json:"idLive"`
}

func readStatus(tb testing.TB, p *browsertest.Page) statusBar {
	tb.Helper()
	var s statusBar
	if err := json.Unmarshal([]byte(browsertest.Eval[string](p, statusJS)), &s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// testStatus: the status bar tells the truth. Its fields and controls stay
// put as the last ID grows and the state changes (at 1400 px, where the
// bar is one row and a field that grows would push the others); its live
// region holds the state,
// not the last ID; during an outage it says the page is reconnecting (and
// in how long, where the transport knows) and marks prices and presence
// stale; afterwards "reconnects" counts the one reconnection, not the
// attempts that failed.
func testStatus(t *testing.T, b *browsertest.Browser) {
	eachTransport(t, func(t *testing.T, tr transport) {
		m := startDemo(t, &demo.Main{Tick: 50 * time.Millisecond})
		p := b.NewPage(t)
		p.SetViewport(1400, 900)
		p.Navigate(m.URL() + "/?user=sam&" + tr.query)
		waitState(t, p, "open")
		before := readStatus(t, p)
		if !slices.Equal(before.Live, []string{"status-state"}) || before.IDLive {
			t.Errorf("the status bar's live regions are %q, the last ID in one: %v; want only #status-state, which shows the state", before.Live, before.IDLive)
		}
		id := p.Attr("#status", "data-last-event-id")
		p.Poll(fmt.Sprintf(`document.querySelector("#status").dataset.lastEventId.length > %d`, len(id)))
		if after := readStatus(t, p); !slices.EqualFunc(after.Controls, before.Controls, slices.Equal) {
			t.Errorf("as the last ID grew from %s, the controls moved from %v to %v", id, before.Controls, after.Controls)
		}

		// An outage: the streams end and every attempt to reconnect fails.
		emulateNetwork(p, offline(m.URL()+"/events*"), offline(m.URL()+"/private/events*"))
		m.Server().DisconnectAll()
		m.PrivateServer().DisconnectAll()
		waitState(t, p, "connecting")
		p.Poll(`document.querySelector("#status-state").textContent === "reconnecting"`)
		if tr.name == "fetch" { // the fetch transport knows its backoff
			p.Poll(`/^ in \d+s$/.test(document.querySelector("#status-retry").textContent)`)
		}
		p.Poll(`document.querySelector("#prices").dataset.stale === "true" && document.querySelector("#presence").dataset.stale === "true"`)
		// What the user sees, not only the hooks: each card's "stale" badge.
		const badges = `["section.prices", "section.presence"].filter(s => document.querySelector(s + " .stale-note").checkVisibility())`
		if got := browsertest.Eval[[]string](p, badges); len(got) != 2 {
			t.Errorf("while reconnecting, the stale badge shows on %q; want on the prices and the presence", got)
		}
		p.Poll(`Number(document.querySelector("#status").dataset.failures) >= 2`) // lost, and an attempt failed
		if during := readStatus(t, p); !slices.EqualFunc(during.Controls, before.Controls, slices.Equal) {
			t.Errorf("while reconnecting, the controls moved from %v to %v", before.Controls, during.Controls)
		}
		emulateNetwork(p)
		waitState(t, p, "open")
		p.Poll(`document.querySelector("#status-state").textContent === "live"`)
		if got := p.Attr("#status", "data-reconnects"); got != "1" {
			t.Errorf("after one outage, data-reconnects = %s (failures %s); want 1", got, p.Attr("#status", "data-failures"))
		}
		if got := p.Text("#status-reconnects"); got != "1" {
			t.Errorf("after one outage, the bar shows %q reconnects; want 1", got)
		}
		if stale := p.Count("[data-stale]"); stale != 0 {
			t.Errorf("%d elements still stale once live again", stale)
		}
		if got := browsertest.Eval[[]string](p, badges); len(got) != 0 {
			t.Errorf("once live again, the stale badge still shows on %q", got)
		}
	})
}

// testFirstView: a page shows the latest prices and the last chat messages
// at once, from the server's snapshot, and streams from the snapshot's
// cursor: while messages are published all along, a page that opens sees
// each once, with none missing between the snapshot and the stream. This
// covers the page's side; that the server reads the snapshot and its
// cursor in one step is TestSnapshot's (cmd/ssekit-demo/demo), which takes
// a hundred snapshots where a page takes one.
func testFirstView(t *testing.T, b *browsertest.Browser) {
	eachTransport(t, func(t *testing.T, tr transport) {
		m := startDemo(t, &demo.Main{Tick: time.Hour}) // the opening prices, then no tick
		var all []string
		for i := range 3 {
			text := fmt.Sprintf("history %d", i)
			post(t, m, "bot", text)
			all = append(all, text)
		}
		first := openDemo(t, b, m.URL()+"/?user=fia&"+tr.query)
		// Shown before the stream opened: no tick comes for an hour.
		if got := chatTexts(t, first); !slices.Equal(got, all) {
			t.Errorf("first view: chat %q; want %q", got, all)
		}
		prices := browsertest.Eval[map[string]string](first, `Object.fromEntries([...document.querySelectorAll("#prices tr[data-symbol]")].map(tr => [tr.dataset.symbol, tr.querySelector("td.price").textContent]))`)
		for _, s := range demo.Symbols {
			if got, want := prices[s.Symbol], strconv.FormatFloat(s.Open, 'f', 2, 64); got != want {
				t.Errorf("first view: %s at %q; want its opening price %s", s.Symbol, got, want)
			}
		}

		// Another page opens while messages come every 5 ms.
		quit, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-quit:
					return
				case <-tick.C:
				}
				text := fmt.Sprintf("live %04d", i)
				if err := tryPost(m, "bot", text); err != nil {
					t.Error(err)
					return
				}
				all = append(all, text) // read once done is closed
			}
		}()
		second := openDemo(t, b, m.URL()+"/?user=gil&"+tr.query)
		close(quit)
		<-done
		post(t, m, "bot", "last")
		all = append(all, "last")
		for _, p := range []*browsertest.Page{first, second} {
			waitChatText(t, p, "last")
			got := chatTexts(t, p)
			if len(got) > len(all) || !slices.Equal(got, all[len(all)-len(got):]) {
				t.Errorf("%s: chat log of %d messages is not the last %d published (a gap or a duplicate): %s", p.Name(), len(got), len(got), summarizeTexts(got))
			}
			if want := min(len(all), demo.ChatHistory); len(got) < want {
				t.Errorf("%s: %d chat messages; want at least %d (the snapshot's history)", p.Name(), len(got), want)
			}
		}
	})
}

func summarizeTexts(s []string) string {
	if len(s) <= 8 {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:4], ", ") + " ... " + strings.Join(s[len(s)-4:], ", ")
}

// widths are the screens testScreens checks: a phone, a tablet, a desktop.
var widths = []int{375, 768, 1400}

// testScreens: at every width nothing overflows the page sideways, the
// header spans it, the notice is no wider than the cards, and a chat
// message does not scroll the page. It saves a screenshot of each width
// in the test's artifact directory (go test -artifacts keeps them).
func testScreens(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	m := startDemo(t, &demo.Main{Tick: 100 * time.Millisecond})
	post(t, m, "bob", "ACME is moving again")
	post(t, m, "alice", "same types on both sides, no JavaScript")
	for _, w := range widths {
		t.Run(strconv.Itoa(w), func(t *testing.T) {
			t.Parallel()
			p := b.NewPage(t)
			p.SetViewport(w, 900)
			p.Navigate(m.URL() + "/?user=alice")
			waitState(t, p, "open")
			// The longest notice the page shows, word for word.
			browsertest.Eval[bool](p, `(() => {
				const n = document.querySelector("#notice");
				n.textContent = "The server refused the stream (401): no token: send Authorization: Bearer <token>. Enter the token the server was started with (its -token flag; \"demo\" unless set) in the token field: the page reconnects with it.";
				n.hidden = false;
				return true;
			})()`)
			post(t, m, "bob", fmt.Sprintf("at %d px", w))
			waitChatText(t, p, fmt.Sprintf("at %d px", w))
			p.Poll(`document.querySelectorAll("#prices tr[data-symbol]").length === 10`)
			var g struct {
				ScrollWidth, InnerWidth, ScrollY float64
				Header, Notice                   [2]float64 // left, right
				Cards                            [][2]float64
			}
			if err := json.Unmarshal([]byte(browsertest.Eval[string](p, `(() => {
				const lr = e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; };
				return JSON.stringify({
					ScrollWidth: document.documentElement.scrollWidth, InnerWidth: innerWidth, ScrollY: scrollY,
					Header: lr(document.querySelector("header")), Notice: lr(document.querySelector("#notice")),
					Cards: [...document.querySelectorAll(".card")].map(lr),
				});
			})()`)), &g); err != nil {
				t.Fatal(err)
			}
			if g.ScrollWidth > g.InnerWidth {
				t.Errorf("at %d px the page is %v px wide: it overflows", w, g.ScrollWidth)
			}
			if g.Header[0] > 0 || g.Header[1] < g.ScrollWidth {
				t.Errorf("at %d px the header spans %v of a page %v px wide", w, g.Header, g.ScrollWidth)
			}
			left, right := g.Cards[0][0], g.Cards[0][1]
			for _, c := range g.Cards {
				left, right = min(left, c[0]), max(right, c[1])
			}
			if g.Notice[0] < left-0.5 || g.Notice[1] > right+0.5 {
				t.Errorf("at %d px the notice spans %v, wider than the cards' %v", w, g.Notice, [2]float64{left, right})
			}
			if g.ScrollY != 0 {
				t.Errorf("at %d px a chat message scrolled the page to %v", w, g.ScrollY)
			}
			path := filepath.Join(t.ArtifactDir(), fmt.Sprintf("demo-%d.png", w))
			p.Screenshot(path)
			t.Logf("screenshot at %d px: %s", w, path)
		})
	}
}

// testFavicon: a cold load asks for nothing the server does not have: the
// page names its icon, and the server serves it.
func testFavicon(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	m := startDemo(t, &demo.Main{Tick: -1})
	p := b.NewPage(t)
	var mu sync.Mutex
	var icon string
	var failed []string
	responses := chromedp.Events(p.Context(), cdpnetwork.ResponseReceived)
	go func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			r := ev.Response
			mu.Lock()
			if strings.Contains(r.URL, "/favicon.") {
				icon = fmt.Sprintf("%s %d %s", r.URL, r.Status, r.MimeType)
			}
			if r.Status >= 400 {
				failed = append(failed, fmt.Sprintf("%s: %d", r.URL, r.Status))
			}
			mu.Unlock()
		}
	}()
	p.Navigate(m.URL() + "/?user=fay")
	waitState(t, p, "open")
	waitUntil(t, browsertest.DefaultStepTimeout, "the icon loaded", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return icon != ""
	})
	mu.Lock()
	defer mu.Unlock()
	if len(failed) > 0 {
		t.Errorf("a cold load got %s", strings.Join(failed, ", "))
	}
	if !strings.Contains(icon, " 200 image/") {
		t.Errorf("the icon: %s; want 200 with an image", icon)
	}
}
