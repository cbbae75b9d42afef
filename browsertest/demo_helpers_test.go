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
	body, _ := json.Marshal(map[string]string{"user": user, "text": text})
	resp, err := http.Post(m.URL()+"/api/chat", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("POST /api/chat: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("POST /api/chat = %s %q; want 201 Created", resp.Status, b)
	}
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
