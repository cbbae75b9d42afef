package browsertest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Defaults of [New].
const (
	// DefaultStepTimeout bounds each step of a [Page]: generous, because a
	// loaded CI machine running tests in parallel is slow, and a step that
	// works waits only as long as it must.
	DefaultStepTimeout = 30 * time.Second
	// DefaultPollInterval is how often a waiting step looks again. Steps
	// poll on a timer, never on animation frames, which a hidden tab does
	// not get.
	DefaultPollInterval = 50 * time.Millisecond
)

// Browser is a headless Chromium that one test, and its subtests, share.
// Each user it simulates ([Browser.NewUser]) gets a browser context of its
// own: a separate profile, as in an incognito window, with its own cookies,
// storage and pool of connections. Starting a context is much cheaper than
// starting a browser, so a test starts one Browser and many users.
//
// A Browser is safe for concurrent use: parallel subtests may open users
// and pages at the same time.
type Browser struct {
	// ctx is the browser's first tab, which holds the browser's life. It
	// has no deadline; see NewBrowser.
	ctx   context.Context
	cfg   browserConfig
	users atomic.Int64
}

// New starts a headless Chromium for tb and stops it when tb and its
// subtests are done (with [testing.TB.Cleanup]). Chromium is found by
// [RequireChromium]: when there is none, New skips the test, or fails it
// when the environment variable CI is "true". A browser that does not start
// within the step timeout fails the test.
//
// The options are those of [NewBrowser], and [WithStepTimeout] and
// [WithPollInterval] for the pages.
func New(tb testing.TB, opts ...BrowserOption) *Browser {
	tb.Helper()
	b := &Browser{cfg: browserConfig{stepTimeout: DefaultStepTimeout, pollInterval: DefaultPollInterval}}
	for _, o := range opts {
		o(&b.cfg)
	}
	if b.cfg.execPath == "" {
		b.cfg.execPath = RequireChromium(tb)
	}
	// The browser lives as long as life. A deadline there would kill it, so
	// a timer bounds the start instead.
	life, stop := context.WithCancel(context.Background())
	type started struct {
		ctx    context.Context
		cancel context.CancelFunc
		err    error
	}
	ch := make(chan started, 1)
	go func() {
		ctx, cancel, err := NewBrowser(life, append(opts[:len(opts):len(opts)], WithExecPath(b.cfg.execPath))...)
		ch <- started{ctx, cancel, err}
	}()
	timer := time.NewTimer(b.cfg.stepTimeout)
	defer timer.Stop()
	var s started
	select {
	case s = <-ch:
	case <-timer.C:
		stop()
		if s = <-ch; s.err == nil {
			s.cancel()
		}
		tb.Fatalf("browsertest: New: %s did not start within %v", b.cfg.execPath, b.cfg.stepTimeout)
	}
	if s.err != nil {
		stop()
		tb.Fatalf("browsertest: New: %v", s.err)
	}
	b.ctx = s.ctx
	tb.Cleanup(func() {
		s.cancel()
		stop()
	})
	return b
}

// Context returns the chromedp context of the browser's first tab, for
// what this package does not do. It has no deadline, and its first action
// has run: give each action a deadline of its own with
// [context.WithTimeout]. Open new tabs with [chromedp.NewContext] on it.
func (b *Browser) Context() context.Context { return b.ctx }

// NewUser opens a new browser context for tb, a simulated user: cookies,
// storage, cache and connections are its own, shared by its pages and by
// no other user's. It closes, with its pages, when tb is done.
//
// The browser context matters for streams: a browser opens at most 6
// HTTP/1.1 connections to one origin in one browser context, and a stream
// holds one for as long as it is open, so a seventh stream to the same
// server waits. Give each simulated user a NewUser, and no user more than
// 5 streams, which leaves a connection for the page's other requests.
func (b *Browser) NewUser(tb testing.TB) *User {
	tb.Helper()
	u := &User{b: b, name: fmt.Sprintf("user %d", b.users.Add(1))}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	if err := b.open(ctx, cancel); err != nil {
		tb.Fatalf("browsertest: %s: opening a browser context: %v", u.name, err)
	}
	u.ctx = ctx
	tb.Cleanup(cancel)
	return u
}

// NewPage opens a page for a new user: it is b.NewUser(tb).NewPage(tb).
func (b *Browser) NewPage(tb testing.TB) *Page {
	tb.Helper()
	return b.NewUser(tb).newPage(tb, false)
}

// open runs the first action on the chromedp context ctx, which creates its
// tab. The tab lives as long as the context of its first action, so that
// action has no deadline: a timer stands in for one, and cancels ctx when
// it fires.
func (b *Browser) open(ctx context.Context, cancel context.CancelFunc) error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	timer := time.NewTimer(b.cfg.stepTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			cancel()
		}
		return err
	case <-timer.C:
		cancel()
		<-done
		return fmt.Errorf("no tab within %v", b.cfg.stepTimeout)
	}
}
