// Package browsertest drives pages in headless Chromium from Go tests, so
// that an application's end-to-end test is a few lines.
//
// A test starts one browser with [New], opens a [Page] for each simulated
// user, and drives it in steps:
//
//	func TestGreeting(t *testing.T) {
//		srv := httptest.NewServer(greeter())
//		t.Cleanup(srv.Close)
//
//		b := browsertest.New(t) // skips the test when Chromium is missing
//		p := b.NewPage(t)
//		p.Navigate(srv.URL)
//		p.Poll(`document.querySelector("#greeting").textContent !== ""`)
//		if got := p.Text("#greeting"); got != "hello, world" {
//			t.Errorf("#greeting = %q; want %q", got, "hello, world")
//		}
//	}
//
// (example_test.go holds it whole, and runs it.) Every step has a deadline
// and fails the test with a message that names the page, its URL, the step
// and its selector or expression, then shows the page's last console lines.
// When the greeting never comes, because /events answers 500, the test
// stops with
//
//	browsertest: user 1 page 1 (http://127.0.0.1:44675): Poll(`document.querySelector("#greeting").textContent !== ""`): not true within 30s
//	last console lines:
//		browser network error: Failed to load resource: the server responded with a status of 500 (Internal Server Error) (http://127.0.0.1:44675/events)
//		browser network error: Failed to load resource: the server responded with a status of 404 (Not Found) (http://127.0.0.1:44675/favicon.ico)
//
// # Browsers, users and pages
//
// Starting Chromium takes about a second; a browser context in it is much
// cheaper. So a test starts one [Browser] (its subtests share
// it, in parallel if they like) and each simulated user gets a [User] from
// [Browser.NewUser]: a browser context of its own, like an incognito
// window, with its own cookies, storage and connections. [Browser.NewPage]
// opens a page for a new user; [User.NewPage] opens one more page (a tab)
// for the same user, sharing its cookies. Everything closes when the test
// that opened it ends.
//
// A browser opens at most 6 HTTP/1.1 connections to one origin in one
// browser context, and an event stream (EventSource, or fetch reading a
// body) holds one as long as it is open: the seventh stream of a user
// waits, and so do the user's other requests. Give each user of a test a
// User of its own, with at most 5 streams.
//
// Each page opens in a window of its own, so that it is visible: a hidden
// tab gets no animation frames (requestAnimationFrame never calls back)
// and is not painted. [User.NewBackgroundPage] opens a hidden one on
// purpose: when a test runs many pages at once, not painting them leaves
// the CPU to their scripts.
//
// # Steps and deadlines
//
// The steps are the methods of Page ([Page.Navigate], [Page.Poll],
// [Page.WaitFor], [Page.WaitVisible], [Page.Click], [Page.Type],
// [Page.SetValue], [Page.Attr], [Page.Text], [Page.Count],
// [Page.Screenshot], ...) and the functions [Eval] and [Run]. Each waits
// at most [DefaultStepTimeout], generous because a loaded CI machine is
// slow; [WithStepTimeout] changes it for a browser, and [Page.Timeout] for
// some steps. Steps that wait poll every [DefaultPollInterval] on a timer
// ([WithPollInterval]), never on animation frames.
//
// A step fails the test with [testing.TB.Fatalf], so call it from the
// goroutine of the test that opened the page. One goroutine can drive many
// pages: while a step waits for one page, the browser runs them all.
//
// For what the steps do not cover, [Run] runs any chromedp action as a
// step, and [Page.Context] and [Browser.Context] give the chromedp
// contexts.
//
// # Console, exceptions and Go crashes
//
// A Page records its console from the moment it opens ([Page.Console]),
// each message as [ConsoleText] writes it. It fails the test, with
// [testing.TB.Errorf], on an uncaught exception or unhandled promise
// rejection, on a crash of the tab's renderer, and on a line of Go's crash
// report, "panic: ..." or "fatal error: ..." ([GoCrashed]): a Go program
// compiled to WebAssembly writes its standard output and error to
// console.log, and its panics raise no JavaScript exception. A failure
// also ends the step that is waiting on the page at once, and the rest of
// the console (the goroutine stacks) is logged when the test ends. Before
// a page closes it checks once more, so a panic written just before the
// test returned still fails it.
//
// # Other sites, cookies and scripted servers
//
// [Page.SetCookie] stores a cookie for a user before a page loads, as a
// login would. A page that streams from a server on another site with
// credentials sends that server's cookies only if the browser allows
// third-party cookies, which Chromium does not by default:
// [WithThirdPartyCookies] allows them.
//
// A [Fixture] is a server for tests of event-stream clients: it answers a
// stream URL with scripted responses (a 204, a 500, a wrong content type,
// a body that ends) and lists the requests it got, so a test can tell how
// often a client came back; its ssekit endpoint publishes and disconnects
// on request, and publishes numbered sequences in the background. For a
// network that misbehaves it makes TCP proxies in front of itself, which a
// test blackholes or makes refuse connections, and, given the tab of its
// page ([Fixture.SetTab], as the runner below does), takes that tab offline
// or freezes it for a while with the DevTools protocol.
//
// # Chromium
//
// Tests use the Chromium of the operating system: Debian's chromium package
// (/usr/bin/chromium), found by [FindChromium]. The environment variable
// CHROMIUM names another binary. Without one, [New] skips the test, or fails
// it when CI is "true" ([RequireChromium]). scripts/ensure-chromium.sh
// installs the package when it is missing. [AllocatorOptions] are the flags
// that make a run quiet and repeatable.
//
// # Lower level
//
// [NewBrowser] starts a browser whose life a context controls, for
// programs that are not tests, such as the runner below. The first
// chromedp action on a context starts the browser or the tab and ties its
// life to that action's context, so a deadline there kills it: NewBrowser,
// New and the pages therefore start theirs with no deadline, and give
// every later step one of its own.
//
// # Running a package's tests in the browser
//
// The command browsertest/cmd/go_js_wasm_exec plays the part of Go's
// go_js_wasm_exec: with it on PATH (or given to go test with -exec),
//
//	GOOS=js GOARCH=wasm go test ./wasm/...
//
// runs the tests of a js/wasm package in headless Chromium instead of
// Node.js. Install it with
//
//	go install github.com/ssekit/ssekit/browsertest/cmd/go_js_wasm_exec@latest
package browsertest
