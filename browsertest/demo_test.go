package browsertest_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/cmd/ssekit-demo/demo"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/web/events"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "save a screenshot of the demo page to ../docs/demo.png")

// transport is one of the page's two ways to read its stream, with the
// query that selects it.
type transport struct {
	name  string
	query string
}

var transports = []transport{
	{"eventsource", "transport=eventsource"},
	{"fetch", "transport=fetch&token=demo"},
}

// Selectors of the page's stable hooks.
const (
	chatItems = "#chat-log li[data-id]"
	chatText  = `#chat-form input[name="text"]`
	chatSend  = `#chat-form button[type="submit"]`
)

// TestDemo drives the demo's page (cmd/ssekit-demo, web/app) in headless
// Chromium, end to end: one browser for the whole test, a browser context
// per simulated user, a demo server per scenario, scenarios in parallel.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	t.Parallel()
	// The cross-origin scenario's page (127.0.0.1) and server (localhost)
	// are different sites: the cookie it streams with is a third-party one.
	b := browsertest.New(t, browsertest.WithThirdPartyCookies())

	t.Run("prices", func(t *testing.T) { testPrices(t, b) })
	t.Run("fan-out", func(t *testing.T) { testFanOut(t, b) })
	t.Run("resume", func(t *testing.T) { testResume(t, b) })
	t.Run("reset", func(t *testing.T) { testReset(t, b) })
	t.Run("stop", func(t *testing.T) { testStop(t, b) })
	t.Run("cross-origin", func(t *testing.T) { testCrossOrigin(t, b) })
	t.Run("token", func(t *testing.T) { testToken(t, b) })
	t.Run("stale-bundle", func(t *testing.T) { testStaleBundle(t, b) })
	t.Run("load", func(t *testing.T) { testLoad(t, b) })
	t.Run("loading", func(t *testing.T) { testLoading(t, b) })
	t.Run("tabs", func(t *testing.T) { testTabs(t, b) })
	t.Run("presence", func(t *testing.T) { testPresence(t, b) })
	t.Run("chat-retry", func(t *testing.T) { testChatRetry(t, b) })
	t.Run("status", func(t *testing.T) { testStatus(t, b) })
	t.Run("first-view", func(t *testing.T) { testFirstView(t, b) })
	t.Run("screens", func(t *testing.T) { testScreens(t, b) })
	t.Run("favicon", func(t *testing.T) { testFavicon(t, b) })
	t.Run("screenshot", func(t *testing.T) { testScreenshot(t, b) })
}

// eachTransport runs test as a parallel subtest for each transport.
func eachTransport(t *testing.T, test func(t *testing.T, tr transport)) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			test(t, tr)
		})
	}
}

// testPrices: the page loads, its Go program starts, the stream opens and
// prices change in the table.
func testPrices(t *testing.T, b *browsertest.Browser) {
	eachTransport(t, func(t *testing.T, tr transport) {
		m := startDemo(t, &demo.Main{Tick: 100 * time.Millisecond})
		p := openDemo(t, b, m.URL()+"/?"+tr.query)
		if got := p.Attr("#status", "data-transport"); got != tr.name {
			t.Errorf("#status data-transport = %q; want %q", got, tr.name)
		}
		const acme = `#prices tr[data-symbol="ACME"] td.price`
		first := p.Text(acme)
		p.Poll(fmt.Sprintf(`document.querySelector(%s).textContent !== %s`, jsQuote(acme), jsQuote(first)))
		p.Poll(fmt.Sprintf(`document.querySelectorAll("#prices tr[data-symbol]").length === %d`, len(demo.Symbols)))
		if got := p.Attr("#status", "data-last-event-id"); got == "" {
			t.Errorf("#status data-last-event-id is empty after price ticks")
		}
	})
}

// testFanOut: three users; each types chat messages into the form and
// clicks Send; every message appears once, in the same order, for all three.
func testFanOut(t *testing.T, b *browsertest.Browser) {
	eachTransport(t, func(t *testing.T, tr transport) {
		m := startDemo(t, &demo.Main{Tick: -1})
		names := []string{"ana", "bo", "cy"}
		pages := make([]*browsertest.Page, len(names))
		for i, name := range names {
			pages[i] = openDemo(t, b, m.URL()+"/?user="+name+"&"+tr.query)
		}
		var want []chatLine
		for round := range 2 {
			for i, p := range pages {
				text := fmt.Sprintf("%s says hello #%d", names[i], round)
				p.Type(chatText, text)
				p.Click(chatSend)
				// The page empties the field once the server took the
				// message: then the next one is ordered after it.
				p.Poll(fmt.Sprintf(`document.querySelector(%s).value === ""`, jsQuote(chatText)))
				want = append(want, chatLine{User: names[i], Text: text})
			}
		}
		var first []chatLine
		for i, p := range pages {
			got := waitChat(t, p, len(want))
			checkChat(t, p, got, want)
			if i == 0 {
				first = got
				continue
			}
			for j := range got {
				if got[j].ID != first[j].ID {
					t.Errorf("%s: message %d has ID %s; %s has %s", p.Name(), j, got[j].ID, pages[0].Name(), first[j].ID)
				}
			}
		}
	})
}

// testResume: the server drops every stream while messages are published;
// every page reconnects, resumes with Last-Event-ID and ends with every
// message once, in order, and no reset.
func testResume(t *testing.T, b *browsertest.Browser) {
	eachTransport(t, func(t *testing.T, tr transport) {
		m := startDemo(t, &demo.Main{Tick: -1})
		var pages []*browsertest.Page
		for _, name := range []string{"dee", "eli", "fay"} {
			pages = append(pages, openDemo(t, b, m.URL()+"/?user="+name+"&"+tr.query))
		}
		const n = 60
		var want []chatLine
		for i := range n {
			text := fmt.Sprintf("resume %02d", i)
			post(t, m, "bot", text)
			want = append(want, chatLine{User: "bot", Text: text})
			if i == n/3 || i == 2*n/3 {
				m.Server().DisconnectAll()
				m.PrivateServer().DisconnectAll()
			}
		}
		for _, p := range pages {
			checkChat(t, p, waitChat(t, p, n), want)
			waitState(t, p, "open")
			if got := p.Attr("#status", "data-resets"); got != "0" {
				t.Errorf("%s: data-resets = %s; want 0", p.Name(), got)
			}
			if got, _ := strconv.Atoi(p.Attr("#status", "data-reconnects")); got < 1 {
				t.Errorf("%s: data-reconnects = %d; want at least 1", p.Name(), got)
			}
		}
	})
}

// testReset: a page that was away longer than the server's replay window
// gets a reset, and shows it.
func testReset(t *testing.T, b *browsertest.Browser) {
	eachTransport(t, func(t *testing.T, tr transport) {
		const retain = 20
		m := startDemo(t, &demo.Main{RetainEvents: retain, Tick: -1})
		p := openDemo(t, b, m.URL()+"/?user=gus&"+tr.query)
		post(t, m, "bot", "before the gap")
		waitChat(t, p, 1)
		p.Poll(`!document.querySelector("#drop").disabled`)
		p.Click("#drop")
		waitState(t, p, "closed")
		for i := range retain + 5 {
			post(t, m, "bot", fmt.Sprintf("missed %02d", i))
		}
		p.Click("#restore")
		waitState(t, p, "open")
		p.Poll(`document.querySelector("#status").dataset.resets === "1"`)
		p.WaitVisible("#notice")
		if got := p.Text("#notice"); !strings.Contains(got, "could not replay") {
			t.Errorf("#notice = %q; want it to say the server could not replay", got)
		}
		post(t, m, "bot", "after the gap")
		p.Poll(fmt.Sprintf(`[...document.querySelectorAll(%s)].some(li => li.textContent.includes("after the gap"))`, jsQuote(chatItems)))
	})
}

// testStop: a 204 ends reconnection; a 500 and a wrong content type close
// the native source for good, while the fetch transport retries the 500.
// The page streams from a scripted server (browsertest.Fixture), whose
// request log shows how often it came.
func testStop(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	// outcome is what a transport does with a script: how many requests
	// it makes, and what the page's status shows once the source closed.
	type outcome struct {
		requests  int
		failures  int    // data-failures: connections lost, attempts failed
		dataError string // data-error: the HTTP status the fetch transport saw
	}
	// Each script starts with a stream that ends and asks for a retry
	// 100 ms later; what comes next decides.
	tests := []struct {
		name   string
		script string
		want   map[string]outcome // by transport
	}{
		{
			name:   "204",
			script: `[{"body": "retry: 100\ndata: first\n\n"}, {"status": 204}, {"body": "data: never\n\n"}]`,
			want:   map[string]outcome{"eventsource": {2, 1, "0"}, "fetch": {2, 1, "204"}},
		},
		{
			name:   "500",
			script: `[{"body": "retry: 100\ndata: first\n\n"}, {"status": 500, "body": "boom"}, {"status": 204}, {"body": "data: never\n\n"}]`,
			// The fetch transport retries a 5xx, then stops at the 204.
			want: map[string]outcome{"eventsource": {2, 1, "0"}, "fetch": {3, 2, "204"}},
		},
		{
			name:   "content-type",
			script: `[{"body": "retry: 100\ndata: first\n\n"}, {"contentType": "text/plain", "body": "data: x\n\n"}, {"body": "data: never\n\n"}]`,
			want:   map[string]outcome{"eventsource": {2, 1, "0"}, "fetch": {2, 1, "200"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachTransport(t, func(t *testing.T, tr transport) {
				want := tt.want[tr.name]
				m := startDemo(t, &demo.Main{Tick: -1})
				fx := startFixture(t, m.URL())
				key := tt.name + "-" + tr.name
				fx.script(t, key, tt.script)
				p := b.NewPage(t)
				p.Navigate(m.URL() + "/?" + tr.query + "&events=" + url.QueryEscape(fx.base+"/stream/"+key))
				waitState(t, p, "closed")
				if got := p.Attr("#status", "data-error"); got != want.dataError {
					t.Errorf("#status data-error = %q; want %q", got, want.dataError)
				}
				if got, _ := strconv.Atoi(p.Attr("#status", "data-failures")); got != want.failures {
					t.Errorf("#status data-failures = %d; want %d", got, want.failures)
				}
				if got := p.Attr("#status", "data-reconnects"); got != "0" {
					t.Errorf("#status data-reconnects = %s; want 0 (no connection opened again)", got)
				}
				if got := p.Text("#notice"); !strings.Contains(got, "Connection closed") {
					t.Errorf("#notice = %q; want it to say the connection closed", got)
				}
				// Nothing marks a retry that does not come: give it 10
				// times the reconnection time the first response set.
				time.Sleep(time.Second)
				if got := fx.requests(t, key); len(got) != want.requests {
					t.Errorf("the fixture got %d requests; want %d (no retry after the source closed)", len(got), want.requests)
				}
			})
		})
	}
}

// testCrossOrigin: the page on one origin streams from the same server on
// another (localhost instead of 127.0.0.1) with credentials: the server
// takes the user from a cookie and shows it online. An origin missing from
// the server's CORS allowlist gets nothing.
func testCrossOrigin(t *testing.T, b *browsertest.Browser) {
	eachTransport(t, func(t *testing.T, tr transport) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		ip, host := "http://127.0.0.1:"+port, "http://localhost:"+port
		startDemo(t, &demo.Main{Listener: ln, Tick: 100 * time.Millisecond, AllowedOrigins: []string{ip}})

		// Allowed: the page is on 127.0.0.1, the streams on localhost.
		p := b.NewPage(t)
		p.SetCookie(host, &http.Cookie{Name: "user", Value: "carol", Secure: true, SameSite: http.SameSiteNoneMode})
		p.Navigate(ip + "/?" + tr.query + "&server=" + url.QueryEscape(host))
		waitState(t, p, "open")
		p.Poll(`[...document.querySelectorAll("#presence li")].some(li => li.textContent === "carol")`)
		p.Poll(`document.querySelectorAll("#prices tr[data-symbol]").length > 0`)

		// Refused: the page is on localhost, which the allowlist lacks.
		q := b.NewPage(t)
		q.SetCookie(ip, &http.Cookie{Name: "user", Value: "mallory", Secure: true, SameSite: http.SameSiteNoneMode})
		q.Navigate(host + "/?" + tr.query + "&server=" + url.QueryEscape(ip))
		if tr.name == "eventsource" {
			waitState(t, q, "closed") // EventSource gives up on a CORS refusal
		} else {
			// fetch() cannot tell a CORS refusal from a network error,
			// so the fetch transport keeps retrying.
			q.Poll(`Number(document.querySelector("#status").dataset.failures) >= 1`)
			if got := q.Attr("#status", "data-ready-state"); got != "connecting" {
				t.Errorf("refused page: data-ready-state = %q; want connecting", got)
			}
		}
		if n := q.Count("#presence li"); n != 0 {
			t.Errorf("refused page: %d users online; want none shown", n)
		}
		if n := q.Count("#prices tr[data-symbol]"); n != 0 {
			t.Errorf("refused page: %d price rows; want none", n)
		}
	})
}

// testToken: the fetch transport POSTs a JSON body with an Authorization
// header; without the token the server answers 401 and the page says so.
func testToken(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	t.Run("request", func(t *testing.T) {
		t.Parallel()
		m := startDemo(t, &demo.Main{Tick: -1})
		fx := startFixture(t, m.URL())
		p := b.NewPage(t)
		p.Navigate(m.URL() + "/?transport=fetch&token=s3cret&events=" + url.QueryEscape(fx.base+"/ssekit/events?topic=chat&key=token"))
		waitState(t, p, "open")
		reqs := fx.requests(t, "token")
		if len(reqs) != 1 {
			t.Fatalf("the fixture got %d requests; want 1", len(reqs))
		}
		r := reqs[0]
		var body struct{ Topics []string }
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Errorf("request body %q is not JSON: %v", r.Body, err)
		}
		if r.Method != "POST" || r.Header["Authorization"] != "Bearer s3cret" ||
			r.Header["Content-Type"] != "application/json" || r.Header["Accept"] != "text/event-stream" ||
			!slices.Equal(body.Topics, []string{events.TopicPrices, events.TopicChat, events.TopicPresence}) {
			t.Errorf("request = %s %v %q; want POST, Authorization: Bearer s3cret, JSON content, Accept: text/event-stream, the three topics",
				r.Method, r.Header, r.Body)
		}
	})
	t.Run("authorized", func(t *testing.T) {
		t.Parallel()
		m := startDemo(t, &demo.Main{Tick: -1})
		p := openDemo(t, b, m.URL()+"/?user=hal&transport=fetch&token=demo")
		post(t, m, "bot", "for token holders")
		checkChat(t, p, waitChat(t, p, 1), []chatLine{{User: "bot", Text: "for token holders"}})
	})
	check401 := func(t testing.TB, p *browsertest.Page) {
		t.Helper()
		waitState(t, p, "closed")
		if got := p.Attr("#status", "data-error"); got != "401" {
			t.Errorf("#status data-error = %q; want 401", got)
		}
		p.WaitVisible("#notice")
		if got := p.Text("#notice"); !strings.Contains(got, "401") {
			t.Errorf("#notice = %q; want it to mention 401", got)
		}
	}
	// A stale token: a token changed on the page is used at once; one
	// the server no longer takes is refused with its reason and how to
	// fix it, and correcting it recovers the stream without a reload.
	t.Run("stale", func(t *testing.T) {
		t.Parallel()
		m := startDemo(t, &demo.Main{Tick: -1})
		p := openDemo(t, b, m.URL()+"/?user=tia&transport=fetch&token=demo")
		refused := func() {
			t.Helper()
			check401(t, p)
			if got := p.Text("#notice"); !strings.Contains(got, "invalid token") || !strings.Contains(got, "token field") {
				t.Errorf("#notice = %q; want the server's reason (invalid token) and what to do (the token field)", got)
			}
			if browsertest.Eval[bool](p, `document.querySelector("#restore").disabled`) {
				t.Errorf("Restore is disabled on a refused stream")
			}
		}
		p.SetValue("#token", "wrong")
		waitUntil(t, browsertest.DefaultStepTimeout, "the page to reconnect with the changed token", func() bool { return m.PrivateServer().Stats().Rejected > 0 })
		refused()
		post(t, m, "bot", "while refused")
		p.SetValue("#token", "demo")
		waitState(t, p, "open")
		waitChatText(t, p, "while refused") // resumed where it was

		// The server's token changes; the page reconnects with the old one.
		m.SetToken("rotated")
		m.PrivateServer().DisconnectAll()
		refused()
		rejected := m.PrivateServer().Stats().Rejected
		p.Click("#restore") // with the same stale token: refused again
		waitUntil(t, browsertest.DefaultStepTimeout, "Restore refused", func() bool { return m.PrivateServer().Stats().Rejected > rejected })
		refused()
		p.SetValue("#token", "rotated")
		waitState(t, p, "open")
		post(t, m, "bot", "with the new token")
		waitChatText(t, p, "with the new token")
		p.Click("#drop")
		waitState(t, p, "closed")
		p.Click("#restore")
		waitState(t, p, "open")
	})
	t.Run("no-token-param", func(t *testing.T) {
		t.Parallel()
		m := startDemo(t, &demo.Main{Tick: -1})
		p := b.NewPage(t)
		p.Navigate(m.URL() + "/?transport=fetch&token=")
		check401(t, p)
	})
	t.Run("select", func(t *testing.T) {
		t.Parallel()
		m := startDemo(t, &demo.Main{Tick: -1})
		p := openDemo(t, b, m.URL()+"/?user=ivy")
		// Switching transport resumes: no message is lost or repeated.
		post(t, m, "bot", "one")
		waitChat(t, p, 1)
		p.SetValue("#transport", "fetch")
		p.Poll(`document.querySelector("#status").dataset.transport === "fetch"`)
		waitState(t, p, "open")
		post(t, m, "bot", "two")
		checkChat(t, p, waitChat(t, p, 2), []chatLine{{User: "bot", Text: "one"}, {User: "bot", Text: "two"}})
		// An emptied token field sends no Authorization.
		p.SetValue("#token", "")
		p.SetValue("#transport", "eventsource")
		waitState(t, p, "open")
		p.SetValue("#transport", "fetch")
		check401(t, p)
	})
}

// testStaleBundle: a server whose events differ from the bundle's (a deploy
// the page has not reloaded for) makes the page say so.
func testStaleBundle(t *testing.T, b *browsertest.Browser) {
	eachTransport(t, func(t *testing.T, tr transport) {
		newer := schema.MustRegistry(events.PriceTick, events.Chat, events.Join, events.Leave,
			schema.Define[struct{ X int }]("extra"))
		m := startDemo(t, &demo.Main{Tick: -1, Registry: newer})
		p := b.NewPage(t)
		p.Navigate(m.URL() + "/?" + tr.query)
		p.Poll(`document.querySelector("#status").dataset.schemaMismatch === "true"`)
		p.WaitVisible("#notice")
		if got := p.Text("#notice"); !strings.Contains(got, "out of date") {
			t.Errorf("#notice = %q; want it to say the page is out of date", got)
		}
	})
}

// testLoad: 20 users in 4 browser contexts (5 streams each), half on each
// transport, get all of 2,000 chat messages, none twice, in order. It logs
// the latency from publishing to rendering.
func testLoad(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	const (
		nUsers     = 20
		perContext = 5
		nMessages  = 2000
		interval   = 5 * time.Millisecond // publishing takes about 10 s
	)
	m := startDemo(t, &demo.Main{Tick: -1})
	users := make([]*browsertest.User, nUsers/perContext)
	for i := range users {
		users[i] = b.NewUser(t)
	}
	// One goroutine drives all the pages: each step waits on one page
	// while the browser runs them all. Background tabs are not painted,
	// which leaves the CPU to the pages' programs.
	pages := make([]*browsertest.Page, nUsers)
	for i := range pages {
		pages[i] = users[i/perContext].NewBackgroundPage(t)
		pages[i].Navigate(fmt.Sprintf("%s/?user=load%02d&%s", m.URL(), i, transports[i%2].query))
	}
	for _, p := range pages {
		waitState(t, p, "open")
	}

	ticker := time.NewTicker(interval)
	for i := range nMessages {
		<-ticker.C
		post(t, m, "load", fmt.Sprintf("%04d sent %d", i, time.Now().UnixMilli()))
	}
	ticker.Stop()

	var latencies []time.Duration
	for _, p := range pages {
		got := waitChatFor(t, p, nMessages, 2*time.Minute)
		if len(got) != nMessages {
			t.Errorf("%s: %d messages; want %d", p.Name(), len(got), nMessages)
			continue
		}
		ids := make(map[string]bool, len(got))
		for i, l := range got {
			var seq int
			var sent int64
			if _, err := fmt.Sscanf(l.Text, "%d sent %d", &seq, &sent); err != nil || seq != i {
				t.Errorf("%s: message %d is %q; want number %d", p.Name(), i, l.Text, i)
				break
			}
			if ids[l.ID] {
				t.Errorf("%s: ID %s twice", p.Name(), l.ID)
			}
			ids[l.ID] = true
			latencies = append(latencies, time.Duration(l.Received-sent)*time.Millisecond)
		}
	}
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	pct := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	t.Logf("publish-to-render latency over %d renders (%d users × %d messages, one every %v): p50 %v, p99 %v, max %v",
		len(latencies), nUsers, nMessages, interval, pct(0.50), pct(0.99), latencies[len(latencies)-1])
}

// testScreenshot saves the picture of the demo the README shows, with
// -update-screenshot.
func testScreenshot(t *testing.T, b *browsertest.Browser) {
	if !*updateScreenshot {
		t.Skip("saves docs/demo.png only with -update-screenshot")
	}
	t.Parallel()
	m := startDemo(t, &demo.Main{Tick: 100 * time.Millisecond})
	other := openDemo(t, b, m.URL()+"/?user=bob")
	p := b.NewPage(t)
	p.SetViewport(1280, 760)
	p.Navigate(m.URL() + "/?user=alice")
	waitState(t, p, "open")
	for _, msg := range []struct{ user, text string }{
		{"bob", "ACME is moving again"},
		{"alice", "same types on both sides, no JavaScript"},
		{"bob", "and the stream resumes after a reconnect"},
	} {
		post(t, m, msg.user, msg.text)
	}
	waitChat(t, p, 3)
	waitChat(t, other, 3)
	p.Poll(`document.querySelectorAll("#presence li").length === 2`)
	// Enough ticks for the charts to fill their width.
	p.Timeout(time.Minute).Poll(`document.querySelector('#prices tr[data-symbol="ACME"] polyline').getAttribute("points").trim().split(" ").length >= 60`)
	p.Screenshot("../docs/demo.png")
}
