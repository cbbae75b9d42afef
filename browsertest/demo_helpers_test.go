package browsertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	cdpfetch "github.com/chromedp/cdproto/fetch"
	cdpnetwork "github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/cmd/ssekit-demo/demo"
	"github.com/ssekit/ssekit/server/cors"
)

// The helpers of TestDemo.

// chatLine is one message of the page's chat log.
type chatLine struct {
	ID       string `json:"id"`
	User     string `json:"user"`
	Text     string `json:"text"`
	Received int64  `json:"received"` // Date.now() when rendered
}

// waitChat waits until the page shows n chat messages and returns them.
func waitChat(tb testing.TB, p *browsertest.Page, n int) []chatLine {
	tb.Helper()
	return waitChatFor(tb, p, n, 0)
}

// waitChatFor is waitChat with a step deadline of d, if not 0.
func waitChatFor(tb testing.TB, p *browsertest.Page, n int, d time.Duration) []chatLine {
	tb.Helper()
	if d > 0 {
		p = p.Timeout(d)
	}
	p.Poll(fmt.Sprintf(`document.querySelectorAll(%s).length >= %d`, jsQuote(chatItems), n))
	return browsertest.Eval[[]chatLine](p, fmt.Sprintf(`[...document.querySelectorAll(%s)].map(li => ({
		id: li.dataset.id,
		user: li.querySelector(".user").textContent,
		text: li.querySelector(".text").textContent,
		received: Number(li.dataset.received),
	}))`, jsQuote(chatItems)))
}

// checkChat checks that got, a page's chat log, is want (IDs aside), and
// that no ID is there twice.
func checkChat(tb testing.TB, p *browsertest.Page, got, want []chatLine) {
	tb.Helper()
	ids := make(map[string]bool)
	for _, l := range got {
		if ids[l.ID] {
			tb.Errorf("%s: chat message ID %s shown twice", p.Name(), l.ID)
		}
		ids[l.ID] = true
	}
	strip := func(ls []chatLine) []string {
		var s []string
		for _, l := range ls {
			s = append(s, l.User+": "+l.Text)
		}
		return s
	}
	if g, w := strip(got), strip(want); !slices.Equal(g, w) {
		tb.Errorf("%s: chat log =\n\t%s\nwant\n\t%s", p.Name(), strings.Join(g, "\n\t"), strings.Join(w, "\n\t"))
	}
}

// startDemo runs m, the demo's server, on 127.0.0.1 at a free port (unless
// m has a Listener) until t ends.
func startDemo(tb testing.TB, m *demo.Main) *demo.Main {
	tb.Helper()
	if m.Listener == nil {
		m.Addr = "127.0.0.1:0"
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatalf("demo.Main.Run() error = %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("demo.Main.Close() error = %v", err)
		}
	})
	return m
}

// openDemo opens url, a demo page, for a new user and waits until its
// stream is open.
func openDemo(tb testing.TB, b *browsertest.Browser, url string) *browsertest.Page {
	tb.Helper()
	p := b.NewPage(tb)
	p.Navigate(url)
	waitState(tb, p, "open")
	return p
}

// waitState waits until the page's status shows the stream's ready state.
func waitState(tb testing.TB, p *browsertest.Page, state string) {
	tb.Helper()
	p.Poll(`document.querySelector("#status").dataset.readyState === ` + jsQuote(state))
}

// jsQuote returns s as a JavaScript string literal.
func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// post sends a chat message through the demo's API, as the page does.
func post(tb testing.TB, m *demo.Main, user, text string) {
	tb.Helper()
	if err := tryPost(m, user, text); err != nil {
		tb.Fatal(err)
	}
}

// tryPost is post for a goroutine other than the test's: it returns what
// went wrong.
func tryPost(m *demo.Main, user, text string) error {
	body, _ := json.Marshal(map[string]string{"user": user, "text": text})
	resp, err := http.Post(m.URL()+"/api/chat", "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST /api/chat: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST /api/chat = %s %q; want 201 Created", resp.Status, b)
	}
	return nil
}

// fixture is a browsertest.Fixture on a server of its own, another origin
// than the page's, which CORS lets the page reach.
type fixture struct {
	base string // URL of the fixture's root
}

func startFixture(tb testing.TB, pageOrigin string) *fixture {
	tb.Helper()
	f := browsertest.NewFixture()
	allow := cors.Handler(cors.Options{
		AllowedOrigins: []string{pageOrigin},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
	})
	srv := httptest.NewServer(allow(http.StripPrefix("/_fixture", f)))
	tb.Cleanup(func() {
		f.Close()
		srv.Close()
	})
	return &fixture{base: srv.URL + "/_fixture"}
}

// script sets the scripted responses of key.
func (f *fixture) script(tb testing.TB, key, script string) {
	tb.Helper()
	resp, err := http.Post(f.base+"/script/"+key, "application/json", strings.NewReader(script))
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		tb.Fatalf("POST /script/%s = %s; want 204", key, resp.Status)
	}
}

// requests returns what reached the fixture under key.
func (f *fixture) requests(tb testing.TB, key string) []browsertest.FixtureRequest {
	tb.Helper()
	resp, err := http.Get(f.base + "/requests/" + key)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var reqs []browsertest.FixtureRequest
	if err := json.NewDecoder(resp.Body).Decode(&reqs); err != nil {
		tb.Fatalf("GET /requests/%s: %v", key, err)
	}
	return reqs
}

// chatTexts returns the texts of the page's chat log, in order.
func chatTexts(tb testing.TB, p *browsertest.Page) []string {
	tb.Helper()
	return browsertest.Eval[[]string](p, fmt.Sprintf(`[...document.querySelectorAll(%s)].map(li => li.querySelector(".text").textContent)`, jsQuote(chatItems)))
}

// waitChatText waits until the page's chat log shows a message with text.
func waitChatText(tb testing.TB, p *browsertest.Page, text string) {
	tb.Helper()
	p.Poll(fmt.Sprintf(`[...document.querySelectorAll(%s)].some(li => li.querySelector(".text").textContent === %s)`, jsQuote(chatItems), jsQuote(text)))
}

// emulateNetwork sets the conditions of the page's network, by URL pattern
// (URLPattern syntax: "http://127.0.0.1:1234/events*"), as DevTools'
// throttling does; none lifts them. Unlike offline mode, it leaves
// navigator.onLine alone, so the page does not know.
func emulateNetwork(p *browsertest.Page, rules ...*cdpnetwork.Conditions) {
	if rules == nil {
		rules = []*cdpnetwork.Conditions{}
	}
	browsertest.Run(p, "Network.emulateNetworkConditionsByRule", cdpStep(cdpnetwork.EmulateNetworkConditionsByRule,
		cdpnetwork.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}))
}

// throttled is a rule of emulateNetwork: downloads from the URLs that match
// pattern at bytesPerSecond.
func throttled(pattern string, bytesPerSecond float64) *cdpnetwork.Conditions {
	return &cdpnetwork.Conditions{URLPattern: pattern, DownloadThroughput: bytesPerSecond, UploadThroughput: -1}
}

// offline is a rule of emulateNetwork: requests to the URLs that match pattern
// fail as they do without a network.
func offline(pattern string) *cdpnetwork.Conditions {
	return &cdpnetwork.Conditions{URLPattern: pattern, Offline: true, DownloadThroughput: -1, UploadThroughput: -1}
}

// intercept pauses the page's requests to urls that match pattern (with
// '*' wildcards) once their response has come, and returns them, for the
// test to continue or fail each with cdpStep(fetch.ContinueRequest, ...)
// or fetch.FailRequest: a response lost on its way.
func intercept(tb testing.TB, p *browsertest.Page, pattern string) <-chan cdpfetch.EventRequestPaused {
	tb.Helper()
	ch := make(chan cdpfetch.EventRequestPaused, 8)
	paused := chromedp.Events(p.Context(), cdpfetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			ch <- ev
		}
	}()
	browsertest.Run(p, "Fetch.enable", cdpStep(cdpfetch.Enable, cdpfetch.EnableParams{
		Patterns: []*cdpfetch.RequestPattern{{URLPattern: pattern, RequestStage: cdpfetch.RequestStageResponse}},
	}))
	return ch
}

// nextPaused returns the next request intercept paused, waiting at most
// the step timeout.
func nextPaused(tb testing.TB, paused <-chan cdpfetch.EventRequestPaused) cdpfetch.EventRequestPaused {
	tb.Helper()
	t := time.NewTimer(browsertest.DefaultStepTimeout)
	defer t.Stop()
	select {
	case ev := <-paused:
		return ev
	case <-t.C:
		tb.Fatalf("no request paused within %v", browsertest.DefaultStepTimeout)
		panic("unreachable")
	}
}
