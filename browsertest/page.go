package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Page is a browser tab that a test drives step by step: [Page.Navigate],
// [Page.Poll], [Page.Click], [Page.Type], [Page.Attr], [Eval] and the
// rest. Open one with [Browser.NewPage] or [User.NewPage].
//
// Every step has a deadline (see [WithStepTimeout] and [Page.Timeout]) and
// fails the test that opened the page, with [testing.TB.Fatalf] and a
// message that names the page, its URL, the step and its selector or
// expression, followed by the last lines of the page's console. Like
// Fatalf, the steps must be called from the goroutine of that test: to
// drive pages in parallel, open each in a parallel subtest of its own.
//
// From the moment it opens, a Page collects what its console shows (see
// [Page.Console]) and fails the test, with [testing.TB.Errorf], on an
// uncaught JavaScript exception or unhandled promise rejection, on a line
// of Go's crash report ([GoCrashed]: "panic: ..." or "fatal error: ...",
// which a Go program compiled to WebAssembly writes to console.log), and
// when the tab's renderer crashes. A crash also ends the step that is
// waiting, at once rather than at its deadline. When the test ends, the
// page checks once more: every console message written until then counts.
type Page struct {
	tb      testing.TB
	t       *tab
	timeout time.Duration
	poll    time.Duration
}

// Timeout returns a view of p whose steps have the deadline d instead of
// the browser's step timeout, for a step known to take long:
//
//	p.Timeout(2 * time.Minute).Poll(`document.querySelectorAll("li").length >= 2000`)
//
// The view shares p's tab and console.
func (p *Page) Timeout(d time.Duration) *Page {
	q := *p
	q.timeout = d
	return &q
}

// Name returns the page's name in failure messages, such as "user 2 page 1".
func (p *Page) Name() string { return p.t.name }

// Context returns the page's chromedp context, for what this package does
// not do; [Run] is usually simpler. It has no deadline, and its first
// action has run: give each action a deadline of its own, since a deadline
// on this context itself would close the tab.
func (p *Page) Context() context.Context { return p.t.ctx }

// Console returns the lines the page's console has shown so far, each as
// [ConsoleText] gives it, in order: console API calls, uncaught
// exceptions, the browser's own log entries (failed requests, CORS
// refusals) and, for a Go WebAssembly program, its standard output and
// error, one line each.
func (p *Page) Console() []string {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	return append([]string(nil), p.t.lines...)
}

// Run runs the chromedp action a on the page as one step called name, with
// the page's deadline, and returns its value. It fails the test as the
// other steps do:
//
//	nodes := browsertest.Run(p, "the rows", chromedp.Nodes(chromedp.CSS("tr")))
func Run[T any](p *Page, name string, a chromedp.Action[T]) T {
	p.tb.Helper()
	v, err := run(p, a, p.timeout)
	if err != nil {
		p.fatal(name, err)
	}
	return v
}

// Eval evaluates the JavaScript expression expr in the page and returns its
// value decoded into a T, as [chromedp.Evaluate] does; a promise is awaited.
// It fails the test when expr throws, or when its value does not decode
// (undefined and null do not decode into a T that cannot be nil).
func Eval[T any](p *Page, expr string) T {
	p.tb.Helper()
	return Run(p, fmt.Sprintf("Eval(`%s`)", expr), chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// Navigate opens url in the page and waits for its load event.
func (p *Page) Navigate(url string) {
	p.tb.Helper()
	p.t.setURL(url)
	Run(p, fmt.Sprintf("Navigate(%q)", url), chromedp.Navigate(url))
}

// pollSeq numbers polls, so that each keeps its last error apart.
var pollSeq atomic.Int64

// Poll waits until the JavaScript expression expr is truthy, evaluating it
// every poll interval ([WithPollInterval]). An evaluation that throws
// counts as false, so expr may read what does not exist yet; when the step
// times out, its message gives the last error.
func (p *Page) Poll(expr string) {
	p.tb.Helper()
	p.pollStep(fmt.Sprintf("Poll(`%s`)", expr), expr)
}

// pollStep polls expr as the step called name.
func (p *Page) pollStep(name, expr string) {
	p.tb.Helper()
	key := fmt.Sprintf("__browsertestPoll%d", pollSeq.Add(1))
	guarded := fmt.Sprintf(`(() => { try { return (%s); } catch (e) { globalThis.%s = String(e); return false; } })()`, expr, key)
	// The page gives up at the deadline and answers; the context's own
	// deadline, a little later, is for a page that does not answer.
	_, err := run(p, chromedp.Poll[chromedp.Void](guarded,
		chromedp.WithPollingInterval(p.poll),
		chromedp.WithPollingTimeout(p.timeout),
	), p.timeout+5*time.Second)
	if errors.Is(err, chromedp.ErrPollingTimeout) {
		err = fmt.Errorf("not true within %v", p.timeout)
		if last, _ := run(p, chromedp.Evaluate[string](fmt.Sprintf(`String(globalThis.%s ?? "")`, key)), 5*time.Second); last != "" {
			err = fmt.Errorf("%w; last evaluation threw %s", err, last)
		}
	}
	if err != nil {
		p.fatal(name, err)
	}
}

// WaitFor waits until an element matches the CSS selector sel.
func (p *Page) WaitFor(sel string) {
	p.tb.Helper()
	p.pollStep(fmt.Sprintf("WaitFor(%q)", sel), "document.querySelector("+jsString(sel)+") !== null")
}

// WaitVisible waits until the first element that matches sel is visible:
// it is in the page and has a box on the screen.
func (p *Page) WaitVisible(sel string) {
	p.tb.Helper()
	Run(p, fmt.Sprintf("WaitVisible(%q)", sel), chromedp.WaitVisible(chromedp.CSS(sel), chromedp.RetryInterval(p.poll)))
}

// Click waits until the first element that matches sel is visible, scrolls
// it into view and clicks its center with the mouse, as a user does: the
// click goes to whatever is on top there, and a submit button submits its
// form with a submit event.
func (p *Page) Click(sel string) {
	p.tb.Helper()
	Run(p, fmt.Sprintf("Click(%q)", sel), chromedp.Click(chromedp.CSS(sel), chromedp.RetryInterval(p.poll)))
}

// Type waits until the first element that matches sel is visible, focuses
// it and types text with key events, after what the element holds already.
// A "\n" in text is the Enter key.
func (p *Page) Type(sel, text string) {
	p.tb.Helper()
	Run(p, fmt.Sprintf("Type(%q, %q)", sel, text), chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.RetryInterval(p.poll)))
}

// SetValue waits until an element matches sel, sets its value (an input's
// text, a select's option) and dispatches the input and change events a
// user's edit would.
func (p *Page) SetValue(sel, value string) {
	p.tb.Helper()
	name := fmt.Sprintf("SetValue(%q, %q)", sel, value)
	p.pollStep(name, "document.querySelector("+jsString(sel)+") !== null")
	Run(p, name, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		e.value = %s;
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, jsString(sel), jsString(value))))
}

// Attr waits until an element matches sel and returns the value of its
// attribute name, "" when it has none.
func (p *Page) Attr(sel, name string) string {
	p.tb.Helper()
	step := fmt.Sprintf("Attr(%q, %q)", sel, name)
	p.pollStep(step, "document.querySelector("+jsString(sel)+") !== null")
	return Run(p, step, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%s).getAttribute(%s) ?? ""`, jsString(sel), jsString(name))))
}

// Text waits until an element matches sel and returns its text content.
func (p *Page) Text(sel string) string {
	p.tb.Helper()
	step := fmt.Sprintf("Text(%q)", sel)
	p.pollStep(step, "document.querySelector("+jsString(sel)+") !== null")
	return Run(p, step, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%s).textContent`, jsString(sel))))
}

// Count returns how many elements match sel now, without waiting.
func (p *Page) Count(sel string) int {
	p.tb.Helper()
	return Run(p, fmt.Sprintf("Count(%q)", sel), chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel))))
}

// SetViewport makes the page's viewport width×height CSS pixels, at a
// device scale of 1, as for a screenshot of a known size.
func (p *Page) SetViewport(width, height int) {
	p.tb.Helper()
	Run(p, fmt.Sprintf("SetViewport(%d, %d)", width, height), chromedp.EmulateViewport(int64(width), int64(height)))
}

// Screenshot saves a PNG of the page's viewport to path, creating its
// directory.
func (p *Page) Screenshot(path string) {
	p.tb.Helper()
	step := fmt.Sprintf("Screenshot(%q)", path)
	png := Run(p, step, chromedp.CaptureScreenshot())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.fatal(step, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.fatal(step, err)
	}
}

// SetCookie stores c in the browser context of the page, as if a response
// from url had set it: the cookie's Domain and Path default to url's. It
// reaches every page of the same user. For a cookie that a page on another
// site must send (a cross-site EventSource or fetch with credentials), set
// SameSite to [http.SameSiteNoneMode] and Secure: browsers treat a cookie
// with no SameSite as Lax, which cross-site requests do not carry, and
// allow Secure on http://localhost.
func (p *Page) SetCookie(url string, c *http.Cookie) {
	p.tb.Helper()
	params := network.SetCookieParams{
		Name:     c.Name,
		Value:    c.Value,
		URL:      url,
		Domain:   c.Domain,
		Path:     c.Path,
		Secure:   &c.Secure,
		HTTPOnly: &c.HttpOnly,
	}
	switch c.SameSite {
	case http.SameSiteLaxMode:
		params.SameSite = network.CookieSameSiteLax
	case http.SameSiteStrictMode:
		params.SameSite = network.CookieSameSiteStrict
	case http.SameSiteNoneMode:
		params.SameSite = network.CookieSameSiteNone
	}
	if !c.Expires.IsZero() {
		params.Expires = cdp.TimeSinceEpoch(float64(c.Expires.UnixNano()) / 1e9)
	}
	Run(p, fmt.Sprintf("SetCookie(%q, %s)", url, c.Name), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetCookie, params)
		return err
	}))
}

// run runs a on the page with the deadline d. A step that a crash of the
// page ended returns the crash as its error.
func run[T any](p *Page, a chromedp.Action[T], d time.Duration) (T, error) {
	ctx, cancel := context.WithTimeout(p.t.steps, d)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil && ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, context.DeadlineExceeded):
			err = fmt.Errorf("not done within %v", d)
		default:
			err = cause
		}
	}
	return v, err
}

// fatal fails the test for the step called step.
func (p *Page) fatal(step string, err error) {
	p.tb.Helper()
	p.tb.Fatalf("browsertest: %s: %s: %v%s", p.t.describe(), step, err, p.t.tail(consoleTail))
}

// consoleTail is how many console lines a failure message shows.
const consoleTail = 15

// jsString returns s as a JavaScript string literal: a JSON string is one.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
