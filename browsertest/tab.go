package browsertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/chromedp"
)

// tab is the state a [Page] and its views share: the chromedp context of
// the tab and what its console showed.
type tab struct {
	name string
	tb   testing.TB
	// ctx is the tab's chromedp context. It has no deadline: its first
	// action ran without one, and the tab lives as long as it.
	ctx context.Context
	// steps is ctx, cancelled with the reason when the page fails, so
	// that a waiting step ends at once.
	steps context.Context
	stop  context.CancelCauseFunc

	watchCancel context.CancelFunc
	watching    sync.WaitGroup

	mu      sync.Mutex
	url     string
	lines   []string
	failAt  int // index in lines of the line that failed the page; -1 none
	markers map[string]chan struct{}
}

// closeGrace bounds each step of closing a page.
const closeGrace = 5 * time.Second

// errClosed ends the steps of a closed page.
var errClosed = errors.New("the page is closed")

// newPage starts watching the console of the tab of ctx, whose first
// action has run, and returns its Page. The caller closes it.
func newPage(tb testing.TB, ctx context.Context, name string, cfg browserConfig) *Page {
	t := &tab{name: name, tb: tb, ctx: ctx, failAt: -1, markers: make(map[string]chan struct{})}
	t.steps, t.stop = context.WithCancelCause(ctx)
	wctx, wcancel := context.WithCancel(ctx)
	t.watchCancel = wcancel
	// Both subscribe before they return, so nothing the page writes once
	// it has a URL is lost.
	messages := chromedp.Console(wctx)
	crashes := chromedp.Events(wctx, inspector.TargetCrashed)
	t.watching.Add(2)
	go func() {
		defer t.watching.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			t.add(m)
		}
	}()
	go func() {
		defer t.watching.Done()
		for _, err := range crashes {
			if err == nil {
				t.fail("the tab's renderer crashed (out of memory?)")
			}
			return
		}
	}()
	return &Page{tb: tb, t: t, timeout: cfg.stepTimeout, poll: cfg.pollInterval}
}

// add records a console message, and fails the page for an uncaught
// exception or a line of a Go crash.
func (t *tab) add(m chromedp.ConsoleMessage) {
	text := ConsoleText(m)
	t.mu.Lock()
	if ch := t.markers[text]; ch != nil && m.Type == chromedp.ConsoleDebug {
		delete(t.markers, text)
		t.mu.Unlock()
		close(ch)
		return
	}
	t.lines = append(t.lines, text)
	t.mu.Unlock()
	if m.IsException() {
		t.fail("uncaught exception: " + text)
		return
	}
	for line := range strings.SplitSeq(text, "\n") {
		if GoCrashed(line) {
			t.fail("the Go program crashed: " + line)
			return
		}
	}
}

// fail reports the first failure of the page to its test, and ends the
// steps in progress.
func (t *tab) fail(reason string) {
	t.mu.Lock()
	first := t.failAt < 0
	if first {
		t.failAt = max(len(t.lines)-1, 0)
	}
	t.mu.Unlock()
	if !first {
		return
	}
	t.tb.Errorf("browsertest: %s: %s", t.describe(), reason)
	t.stop(errors.New(reason))
}

// syncSeq numbers the markers of sync.
var syncSeq atomic.Int64

// sync waits until the watcher has seen every console message the page
// wrote before now: it logs a marker and waits for it, for at most d.
func (t *tab) sync(d time.Duration) {
	key := fmt.Sprintf("browsertest: sync %d", syncSeq.Add(1))
	seen := make(chan struct{})
	t.mu.Lock()
	t.markers[key] = seen
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.ctx, d)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("console.debug("+jsString(key)+")")); err != nil {
		return // the tab is gone: what it wrote has arrived or never will
	}
	select {
	case <-seen:
	case <-ctx.Done():
	}
}

// close checks the console one last time and stops watching it, then
// blanks the page if blank, which ends its streams. The caller closes the
// tab.
func (p *Page) close(blank bool) {
	t := p.t
	t.sync(closeGrace)
	t.watchCancel()
	t.watching.Wait()
	t.stop(errClosed)
	if blank {
		ctx, cancel := context.WithTimeout(t.ctx, closeGrace)
		_ = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
		cancel()
	}
	t.mu.Lock()
	var after []string
	if t.failAt >= 0 {
		after = t.lines[t.failAt:]
	}
	t.mu.Unlock()
	if len(after) > 1 {
		const limit = 60
		if len(after) > limit {
			after = append(after[:limit:limit], fmt.Sprintf("... %d more lines", len(after)-limit))
		}
		p.tb.Logf("browsertest: %s: the console from the failure on:\n\t%s", t.name, strings.Join(after, "\n\t"))
	}
}

func (t *tab) setURL(url string) {
	t.mu.Lock()
	t.url = url
	t.mu.Unlock()
}

// describe names the page and its URL in messages.
func (t *tab) describe() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.url == "" {
		return t.name
	}
	return t.name + " (" + t.url + ")"
}

// tail returns the last n console lines, as the end of a failure message.
func (t *tab) tail(n int) string {
	t.mu.Lock()
	lines := t.lines[max(len(t.lines)-n, 0):]
	t.mu.Unlock()
	if len(lines) == 0 {
		return "\n(the console is empty)"
	}
	return "\nlast console lines:\n\t" + strings.Join(lines, "\n\t")
}
