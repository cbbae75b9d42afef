package browsertest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

// AllocatorOptions returns the chromedp exec allocator options for a headless
// Chromium at execPath that runs tests: chromedp's
// [chromedp.DefaultExecAllocatorOptions] (headless, no first run, no
// background networking, no sync, no background timer throttling, no renderer
// backgrounding, /tmp instead of /dev/shm, ...) and then:
//
//   - --disable-gpu: CI machines have no GPU; software rendering is enough.
//   - --disable-component-update and --disable-quic, with chromedp's
//     --disable-background-networking: the browser makes no request that the
//     test did not ask for, so tests work on machines with no internet.
//   - --disable-background-networking, --disable-sync and --no-first-run once
//     more, so that a change of chromedp's defaults cannot drop them.
//   - --no-sandbox when running as root (a container, CI): Chromium refuses
//     to start as root with its sandbox. chromedp adds it as root too; here it
//     is explicit.
//
// chromedp gives every browser a fresh temporary user data directory and
// removes it when the browser stops, so no profile leaks between runs.
//
// The result is a new slice: append options to change it.
func AllocatorOptions(execPath string) []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption(nil), chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(execPath),
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	return opts
}

// BrowserOption changes how [New] and [NewBrowser] start the browser, and
// how the pages of a [Browser] from New behave.
type BrowserOption func(*browserConfig)

type browserConfig struct {
	execPath     string
	output       io.Writer
	allocOpts    []chromedp.ExecAllocatorOption
	stepTimeout  time.Duration // New only
	pollInterval time.Duration // New only
	thirdParty   bool
}

// WithExecPath makes NewBrowser start the Chromium at path instead of the one
// [FindChromium] finds.
func WithExecPath(path string) BrowserOption {
	return func(c *browserConfig) { c.execPath = path }
}

// WithBrowserOutput sends what the Chromium process prints (its own logs, not
// the page's console) to w. By default it is thrown away.
func WithBrowserOutput(w io.Writer) BrowserOption {
	return func(c *browserConfig) { c.output = w }
}

// WithAllocatorOptions adds chromedp exec allocator options after
// [AllocatorOptions], for example chromedp.Flag("lang", "de").
func WithAllocatorOptions(opts ...chromedp.ExecAllocatorOption) BrowserOption {
	return func(c *browserConfig) { c.allocOpts = append(c.allocOpts, opts...) }
}

// WithStepTimeout sets how long each step of a [Page] may take, opening it
// included, before it fails the test; the default is [DefaultStepTimeout].
// [Page.Timeout] changes it for some steps. NewBrowser ignores it.
func WithStepTimeout(d time.Duration) BrowserOption {
	return func(c *browserConfig) { c.stepTimeout = d }
}

// WithPollInterval sets how often the waiting steps of a [Page] ([Page.Poll],
// [Page.WaitFor], ...) look again; the default is [DefaultPollInterval].
// NewBrowser ignores it.
func WithPollInterval(d time.Duration) BrowserOption {
	return func(c *browserConfig) { c.pollInterval = d }
}

// WithThirdPartyCookies lets the pages of the browser send cookies to other
// sites than their own (third-party cookies), as a page needs to stream
// with credentials from a server on another site: EventSource's
// withCredentials, fetch's credentials "include". Chromium blocks them by
// default, as more and more browsers do, so without this option a test sees
// what the users of those browsers see. The cookie must still be SameSite
// None and Secure to go cross-site (see [Page.SetCookie]).
//
// The browser then starts with a profile whose preferences allow them, in
// a temporary directory that the browser's cancel removes. Do not combine
// it with a chromedp.UserDataDir of your own.
func WithThirdPartyCookies() BrowserOption {
	return func(c *browserConfig) { c.thirdParty = true }
}

// thirdPartyPrefs are the preferences of a profile that allows third-party
// cookies: cookie_controls_mode 0 is "allow", in normal and in incognito
// windows, and so in the browser contexts of [Browser.NewUser].
const thirdPartyPrefs = `{"profile": {"cookie_controls_mode": 0}}`

// NewBrowser starts a headless Chromium (see [AllocatorOptions]) and returns a
// chromedp context for its first tab. The browser runs until cancel is called
// or parent ends; cancel stops it, waits for it to exit and removes its
// temporary profile. Call cancel even when the browser already died.
//
// NewBrowser starts the browser with no deadline of its own, so that parent's
// deadline, if any, is the browser's life. Give each later step its own
// deadline with [context.WithTimeout] on ctx: a deadline on the returned ctx
// itself would not stop the browser, but one on parent does.
//
// The error is a *[ChromiumNotFoundError] when no Chromium is installed.
func NewBrowser(parent context.Context, opts ...BrowserOption) (ctx context.Context, cancel context.CancelFunc, err error) {
	var cfg browserConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.execPath == "" {
		if cfg.execPath, err = FindChromium(); err != nil {
			return nil, nil, err
		}
	}
	allocOpts := AllocatorOptions(cfg.execPath)
	if cfg.output != nil {
		allocOpts = append(allocOpts, chromedp.CombinedOutput(cfg.output))
	}
	removeProfile := func() {}
	if cfg.thirdParty {
		dir, err := os.MkdirTemp("", "browsertest-profile-")
		if err != nil {
			return nil, nil, fmt.Errorf("browsertest: profile: %w", err)
		}
		removeProfile = func() { os.RemoveAll(dir) }
		prefs := filepath.Join(dir, "Default", "Preferences")
		if err := os.MkdirAll(filepath.Dir(prefs), 0o700); err == nil {
			err = os.WriteFile(prefs, []byte(thirdPartyPrefs), 0o600)
		}
		if err != nil {
			removeProfile()
			return nil, nil, fmt.Errorf("browsertest: profile: %w", err)
		}
		allocOpts = append(allocOpts, chromedp.UserDataDir(dir))
	}
	allocOpts = append(allocOpts, cfg.allocOpts...)

	allocCtx, allocCancel := chromedp.NewExecAllocator(parent, allocOpts...)
	ctx, tabCancel := chromedp.NewContext(allocCtx)
	cancel = func() {
		tabCancel()
		allocCancel() // waits for the browser to exit
		removeProfile()
	}
	// An empty Do starts the browser and opens its first tab. Its context is
	// the browser's life, so it carries no deadline.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("browsertest: starting %s: %w", cfg.execPath, err)
	}
	return ctx, cancel, nil
}
