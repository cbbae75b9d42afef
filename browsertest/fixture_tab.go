package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// maxTabAction bounds the duration of a /tab/ action.
const maxTabAction = time.Minute

// tabStep bounds one CDP command of a /tab/ action.
const tabStep = 10 * time.Second

// TabEvent is an entry of the log of a [Fixture]'s /tab/ actions: what was
// done to the tab, and when (the host's clock, which a page on the same
// machine shares).
type TabEvent struct {
	What  string    `json:"what"` // "offline", "online", "frozen", "active"
	Time  time.Time `json:"time"`
	Error string    `json:"error,omitempty"`
}

// SetTab gives the fixture the chromedp context of the tab its page runs
// in, for the /tab/ endpoints, which act on that tab with the DevTools
// protocol: a page cannot take itself offline or freeze itself. The
// go_js_wasm_exec runner sets it. Without it those endpoints answer 501.
func (f *Fixture) SetTab(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tab = ctx
}

// networkConditions are the parameters of Network.emulateNetworkConditions,
// which cdproto no longer lists (it is deprecated in favour of
// emulateNetworkConditionsByRule, which does not change navigator.onLine
// nor fire online and offline events) but Chromium still runs.
type networkConditions struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`
	DownloadThroughput float64 `json:"downloadThroughput"`
	UploadThroughput   float64 `json:"uploadThroughput"`
}

var emulateNetworkConditions = cdp.Command[networkConditions, cdp.Empty]{Method: "Network.emulateNetworkConditions"}

type focusEmulation struct {
	Enabled bool `json:"enabled"`
}

var setFocusEmulationEnabled = cdp.Command[focusEmulation, cdp.Empty]{Method: "Emulation.setFocusEmulationEnabled"}

// tabAction answers 202 at once and runs do then, after the duration of
// the query parameter "for", undo: the page cannot be told anything while
// it is offline or frozen, so the fixture keeps the time.
func (f *Fixture) tabAction(w http.ResponseWriter, r *http.Request, do, undo func(ctx context.Context, r *http.Request) (what string, err error)) {
	d, err := time.ParseDuration(r.URL.Query().Get("for"))
	if err != nil || d <= 0 || d > maxTabAction {
		http.Error(w, fmt.Sprintf("fixture: tab: bad duration %q (for=, up to %v)", r.URL.Query().Get("for"), maxTabAction), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	tab := f.tab
	f.mu.Unlock()
	if tab == nil {
		http.Error(w, "fixture: tab: no tab to act on (SetTab)", http.StatusNotImplemented)
		return
	}
	r = r.Clone(context.Background())
	w.WriteHeader(http.StatusAccepted)
	go func() {
		run := func(step func(ctx context.Context, r *http.Request) (string, error)) {
			ctx, cancel := context.WithTimeout(tab, tabStep)
			defer cancel()
			what, err := step(ctx, r)
			e := TabEvent{What: what, Time: time.Now()}
			if err != nil {
				e.Error = err.Error()
			}
			f.mu.Lock()
			f.tabLog = append(f.tabLog, e)
			f.mu.Unlock()
		}
		run(do)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-f.done:
		}
		run(undo)
	}()
}

// offline takes the tab offline for a while: network emulation, which
// fails new requests and fires the offline event but leaves open
// connections alone, and, with proxy=ID, that proxy refusing connections,
// which kills them. Then the proxy forwards again and the tab comes online.
func (f *Fixture) offline(w http.ResponseWriter, r *http.Request) {
	var p *proxy
	if id := r.URL.Query().Get("proxy"); id != "" {
		if p = f.proxyByID(id); p == nil {
			http.Error(w, "fixture: tab: no proxy "+id, http.StatusNotFound)
			return
		}
	}
	f.tabAction(w, r, func(ctx context.Context, _ *http.Request) (string, error) {
		if p != nil {
			p.set(ProxyRefuse)
		}
		_, err := chromedp.Call(ctx, emulateNetworkConditions, networkConditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		return "offline", err
	}, func(ctx context.Context, _ *http.Request) (string, error) {
		if p != nil {
			p.set(ProxyForward)
		}
		_, err := chromedp.Call(ctx, emulateNetworkConditions, networkConditions{Offline: false, DownloadThroughput: -1, UploadThroughput: -1})
		return "online", err
	})
}

// freeze freezes the tab for a while, as a browser freezes a background
// tab (Page.setWebLifecycleState), then makes it active and visible
// again.
func (f *Fixture) freeze(w http.ResponseWriter, r *http.Request) {
	f.tabAction(w, r, func(ctx context.Context, _ *http.Request) (string, error) {
		_, err := chromedp.Call(ctx, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: page.SetWebLifecycleStateStateFrozen})
		return "frozen", err
	}, func(ctx context.Context, _ *http.Request) (string, error) {
		_, err := chromedp.Call(ctx, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: page.SetWebLifecycleStateStateActive})
		if err == nil {
			// A frozen page stays hidden when it resumes; focus emulation
			// makes it visible again, as a tab the user comes back to.
			_, err = chromedp.Call(ctx, setFocusEmulationEnabled, focusEmulation{Enabled: true})
		}
		return "active", err
	})
}

func (f *Fixture) getTabLog(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	log := append([]TabEvent{}, f.tabLog...)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(log)
}
