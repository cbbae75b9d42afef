package browsertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestNewBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	t.Parallel()
	chromium := RequireChromium(t)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<!doctype html><title>hello</title><script>console.log("from", "the page", 42)</script>`))
	}))
	defer srv.Close()

	ctx, cancel, err := NewBrowser(context.Background(), WithExecPath(chromium))
	if err != nil {
		t.Fatalf("NewBrowser() error = %v", err)
	}
	defer cancel()

	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	defer tcancel()
	messages := chromedp.Console(tctx) // ends with tctx
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("Navigate(%s) error = %v", srv.URL, err)
	}
	title, err := chromedp.Run(tctx, chromedp.Title())
	if err != nil || title != "hello" {
		t.Errorf("Title() = %q, %v; want %q, nil", title, err, "hello")
	}
	ua, err := chromedp.Run(tctx, chromedp.Evaluate[string]("navigator.userAgent"))
	if err != nil || !strings.Contains(ua, "HeadlessChrome") {
		t.Errorf("navigator.userAgent = %q, %v; want a headless Chrome", ua, err)
	}
	for m, err := range messages {
		if err != nil {
			t.Fatalf("Console() error = %v", err)
		}
		if got, want := ConsoleText(m), "from the page 42"; got != want {
			t.Errorf("ConsoleText(first message) = %q; want %q", got, want)
		}
		break
	}
}
