package browsertest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// User is a simulated user: a browser context of a [Browser], with cookies,
// storage and connections of its own, and the pages (tabs) open in it. Make
// one with [Browser.NewUser].
//
// A User is safe for concurrent use.
type User struct {
	b    *Browser
	name string
	// ctx is the browser context's first tab, whose context owns the
	// browser context: cancelling it closes every page of the user.
	ctx context.Context

	mu      sync.Mutex
	pages   int
	claimed bool // the first tab is a page already
}

// NewPage opens a page of the user for tb, blank until [Page.Navigate]:
// its steps fail tb, and it closes when tb is done. The pages of one user
// share its cookies and its connections (see [Browser.NewUser]). Each is in
// a window of its own, so that it is visible and painted, as a user's
// active tab is.
//
// The first page of a user is the tab that holds its browser context: it
// closes with the user rather than with tb, and is only blanked when tb is
// done, which ends its streams.
func (u *User) NewPage(tb testing.TB) *Page {
	tb.Helper()
	return u.newPage(tb, true)
}

// newPage is NewPage; blank says whether to blank the user's first tab
// when tb is done, which is useless when the user closes then too.
func (u *User) newPage(tb testing.TB, blank bool) *Page {
	tb.Helper()
	u.mu.Lock()
	u.pages++
	name := fmt.Sprintf("%s page %d", u.name, u.pages)
	first := !u.claimed
	u.claimed = true
	u.mu.Unlock()

	ctx, cancel := u.ctx, context.CancelFunc(nil)
	if !first {
		ctx, cancel = chromedp.NewContext(u.ctx)
		if err := u.b.open(ctx, cancel); err != nil {
			tb.Fatalf("browsertest: %s: opening a tab: %v", name, err)
		}
	}
	return u.page(tb, ctx, cancel, name, first && blank)
}

// NewBackgroundPage opens a page of the user in a background tab of the
// user's first window, for tb, as [User.NewPage] does. A background tab
// runs scripts, timers and network as any other (the browser's background
// throttling is off), but it is hidden: it is not painted and gets no
// animation frames (requestAnimationFrame callbacks wait until it is
// shown). When a test runs many pages at once, that saves most of the
// CPU the browser spends on them. The steps of a Page poll with a timer,
// so they work in a hidden page; a screenshot does not.
func (u *User) NewBackgroundPage(tb testing.TB) *Page {
	tb.Helper()
	u.mu.Lock()
	u.pages++
	name := fmt.Sprintf("%s page %d", u.name, u.pages)
	u.mu.Unlock()

	c := chromedp.FromContext(u.ctx)
	cctx, ccancel := context.WithTimeout(u.ctx, u.b.cfg.stepTimeout)
	background, newWindow := true, false
	res, err := cdp.Call(cctx, c.Browser, target.CreateTarget, target.CreateTargetParams{
		URL:              "about:blank",
		BrowserContextID: c.BrowserContextID,
		Background:       &background,
		NewWindow:        &newWindow,
	})
	ccancel()
	if err != nil {
		tb.Fatalf("browsertest: %s: opening a background tab: %v", name, err)
	}
	ctx, cancel := chromedp.NewContext(u.ctx, chromedp.WithTargetID(res.TargetID))
	if err := u.b.open(ctx, cancel); err != nil {
		tb.Fatalf("browsertest: %s: attaching to a background tab: %v", name, err)
	}
	return u.page(tb, ctx, cancel, name, false)
}

// page watches the tab of ctx and closes it when tb is done, after
// blanking it if blank.
func (u *User) page(tb testing.TB, ctx context.Context, cancel context.CancelFunc, name string, blank bool) *Page {
	p := newPage(tb, ctx, name, u.b.cfg)
	tb.Cleanup(func() {
		p.close(blank)
		if cancel != nil {
			cancel()
		}
	})
	return p
}
