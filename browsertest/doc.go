// Package browsertest runs Go code in headless Chromium.
//
// It holds the pieces that every browser test of ssekit needs: finding a
// Chromium binary ([FindChromium]), the Chromium flags that make a test run
// quiet and repeatable ([AllocatorOptions]), starting a browser whose life a
// test controls ([NewBrowser]), and turning what a page writes to its console
// into plain text ([ConsoleText], [GoCrashed]).
//
// The shortest useful call starts a browser, opens a page and reads its
// title:
//
//	ctx, cancel, err := browsertest.NewBrowser(context.Background())
//	if err != nil {
//		return err // for example *browsertest.ChromiumNotFoundError
//	}
//	defer cancel()
//	tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
//	defer tcancel()
//	title, err := chromedp.Run(tctx, chromedp.Title())
//
// # Chromium
//
// Tests use the Chromium of the operating system: Debian's chromium package
// (/usr/bin/chromium). The environment variable CHROMIUM names another binary.
// scripts/ensure-chromium.sh installs the package when it is missing.
//
// # Deadlines
//
// The first chromedp action on a context starts the browser and ties its life
// to that action's context, so a deadline there kills the browser. NewBrowser
// therefore starts the browser itself, with no deadline; give every later step
// its own deadline with [context.WithTimeout] on the returned context.
//
// # Running a package's tests in the browser
//
// The command browsertest/cmd/go_js_wasm_exec plays the part of Go's
// go_js_wasm_exec: with it on PATH (or given to go test with -exec),
//
//	GOOS=js GOARCH=wasm go test ./wasm/...
//
// runs the tests of a js/wasm package in headless Chromium instead of Node.js.
package browsertest
