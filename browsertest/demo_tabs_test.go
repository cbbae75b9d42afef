package browsertest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	cdpfetch "github.com/chromedp/cdproto/fetch"
	cdpnetwork "github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/cmd/ssekit-demo/demo"
)

// The scenarios of TestDemo about one person: the tabs of one browser, and
// the chat posts of one tab.

// testTabs: one person opens the demo in eight tabs of one browser, more
// than the six HTTP/1.1 connections a browser opens to a server: every tab
// works, on one stream (wasm.WithShared), shows the person online once,
// and chats; when the tab holding the stream closes, the others go on.
func testTabs(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	const tabs = 8
	m := startDemo(t, &demo.Main{Tick: 100 * time.Millisecond})
	u := b.NewUser(t)
	// The user's first tab holds its browser context, and closing it
	// would close them all: it stays blank, and the others are its
	// children, which close one by one.
	u.NewPage(t)
	pages := make([]*browsertest.Page, tabs)
	for i := range pages {
		if i == tabs-1 {
			pages[i] = u.NewPage(t) // in a window, to type and click in
		} else {
			pages[i] = u.NewBackgroundPage(t)
		}
		pages[i].Navigate(m.URL())
		waitState(t, pages[i], "open")
		if n := m.Server().Stats().Open; n != 1 {
			t.Fatalf("after %d tabs, %d streams are open; want 1 (the tabs share one: wasm.WithShared)", i+1, n)
		}
	}
	const acme = `#prices tr[data-symbol="ACME"] td.price`
	var me string
	for _, p := range pages {
		p.Poll(fmt.Sprintf(`document.querySelectorAll("#prices tr[data-symbol]").length === %d`, len(demo.Symbols)))
		p.Poll(`document.querySelectorAll("#presence li").length === 1`)
		name := p.Text("#presence li")
		if me == "" {
			me = name
		}
		if name != me {
			t.Errorf("%s shows %q online; %s shows %q: one browser is one person", p.Name(), name, pages[0].Name(), me)
		}
	}
	if open := m.Server().Stats().Open; open != 1 {
		t.Errorf("%d tabs hold %d streams; want 1", tabs, open)
	}
	last := pages[tabs-1]
	last.Type(chatText, "from the last tab")
	last.Click(chatSend)
	for _, p := range pages {
		waitChatText(t, p, "from the last tab")
	}

	// The first tab opened holds the stream; it closes.
	closeTab(t, b, pages[0])
	rest := pages[1:]
	post(t, m, "bot", "after a tab closed")
	for _, p := range rest {
		waitChatText(t, p, "after a tab closed")
		p.Poll(fmt.Sprintf(`document.querySelector(%s).textContent !== %s`, jsQuote(acme), jsQuote(p.Text(acme))))
		waitState(t, p, "open")
	}
	waitUntil(t, browsertest.DefaultStepTimeout, "one stream for the tabs left", func() bool { return m.Server().Stats().Open == 1 })
}

// testPresence: the tabs of one browser are one person, whose guest name
// they share (and put in the chat form); another browser is another.
func testPresence(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	m := startDemo(t, &demo.Main{Tick: -1})
	u := b.NewUser(t)
	var pages []*browsertest.Page
	for range 2 {
		p := u.NewPage(t)
		p.Navigate(m.URL())
		waitState(t, p, "open")
		pages = append(pages, p)
	}
	pages = append(pages, openDemo(t, b, m.URL())) // another browser
	var online [][]string
	for _, p := range pages {
		p.Poll(`document.querySelectorAll("#presence li").length >= 2`)
		online = append(online, browsertest.Eval[[]string](p, `[...document.querySelectorAll("#presence li")].map(li => li.textContent)`))
	}
	me := browsertest.Eval[string](pages[0], `localStorage.getItem("ssekit-demo.guest") ?? ""`)
	for i, p := range pages {
		if len(online[i]) != 2 || !slices.Equal(online[i], online[0]) || !slices.Contains(online[i], me) {
			t.Errorf("%s shows %q online; want two people, %s (in two tabs) and another browser's guest", p.Name(), online[i], me)
		}
	}
	for _, p := range pages[:2] {
		if got := p.Attr(`#chat-form input[name="user"]`, "value"); got != "" {
			t.Errorf("%s: the name field's value attribute is %q", p.Name(), got)
		}
		if got := browsertest.Eval[string](p, `document.querySelector('#chat-form input[name="user"]').value`); got != me {
			t.Errorf("%s: the name field holds %q; want the guest name %q", p.Name(), got, me)
		}
	}
}

// testChatRetry: a chat post shows that it is pending; when its answer
// does not come in time the page says it was not sent; sent again, it
// carries the same Idempotency-Key and the server, which had published it,
// publishes nothing more: the message is there once.
func testChatRetry(t *testing.T, b *browsertest.Browser) {
	t.Parallel()
	m := startDemo(t, &demo.Main{Tick: -1})
	p := openDemo(t, b, m.URL()+"/?user=rae&post-timeout=1s")
	paused := intercept(t, p, m.URL()+"/api/chat")
	p.Type(chatText, "only once")
	p.Click(chatSend)
	first := nextPaused(t, paused) // answered by the server, held on its way back
	p.Poll(fmt.Sprintf(`document.querySelector("#chat-form").dataset.pending === "true" && document.querySelector(%s).disabled`, jsQuote(chatSend)))
	p.Poll(`document.querySelector("#chat-error").textContent.includes("did not answer")`)
	waitChatText(t, p, "only once") // it was published all the same
	// The answer is lost for good. The page has aborted the request
	// already, which may have ended it: an error here is no failure.
	ctx, cancel := context.WithTimeout(p.Context(), 5*time.Second)
	_, _ = chromedp.Run(ctx, cdpStep(cdpfetch.FailRequest, cdpfetch.FailRequestParams{RequestID: first.RequestID, ErrorReason: cdpnetwork.ErrorReasonFailed}))
	cancel()

	p.Click(chatSend) // the text is still there
	again := nextPaused(t, paused)
	if k1, k2 := first.Request.Headers["Idempotency-Key"], again.Request.Headers["Idempotency-Key"]; k1 == nil || k1 != k2 {
		t.Errorf("Idempotency-Key %v, then %v on the retry; want one key", k1, k2)
	}
	browsertest.Run(p, "Fetch.continueRequest", cdpStep(cdpfetch.ContinueRequest, cdpfetch.ContinueRequestParams{RequestID: again.RequestID}))
	p.Poll(fmt.Sprintf(`document.querySelector(%s).value === "" && !document.querySelector("#chat-form").dataset.pending`, jsQuote(chatText)))
	if p.Count("#chat-error:not([hidden])") != 0 {
		t.Errorf("#chat-error = %q after the message was sent", p.Text("#chat-error"))
	}
	post(t, m, "bot", "after")
	waitChatText(t, p, "after")
	checkChat(t, p, waitChat(t, p, 2), []chatLine{{User: "rae", Text: "only once"}, {User: "bot", Text: "after"}})
}
