package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"time"

	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ssekit/ssekit/browsertest"
)

const (
	// stepTimeout bounds each browser step after the start: serving the
	// page, sending commands. The program's own run has r.limit.
	stepTimeout = 30 * time.Second
	// exceptionGrace is how long the runner waits for the program to exit
	// after an uncaught exception. A WebAssembly trap ("unreachable",
	// "memory access out of bounds") surfaces as an exception and leaves a
	// program that never exits; a plain JavaScript error lets Go go on.
	exceptionGrace = 5 * time.Second
)

// runner runs one Go wasm program in a fresh headless Chromium.
type runner struct {
	wasmPath string
	argv     []string
	env      map[string]string
	chromium string        // empty: browsertest.FindChromium
	limit    time.Duration // 0: no limit
	stdout   io.Writer
	stderr   io.Writer
	logw     io.Writer // nil unless -v
}

// result is how a run ended.
type result struct {
	code int
	err  error
}

func (r *runner) logf(format string, args ...any) {
	if r.logw != nil {
		fmt.Fprintf(r.logw, "go_js_wasm_exec: "+format+"\n", args...)
	}
}

// run runs the program and returns its exit code. The error, when not nil,
// says why the run failed on the runner's side; the code is then 1.
func (r *runner) run(ctx context.Context) (int, error) {
	start := time.Now()
	if _, err := os.Stat(r.wasmPath); err != nil {
		return 1, fmt.Errorf("go_js_wasm_exec: %v", err)
	}
	wasmExecJS, err := readWasmExecJS()
	if err != nil {
		return 1, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "/"
	}
	srv, err := startPageServer(r.wasmPath, wasmExecJS, pageConfig{Argv: r.argv, Env: r.env, Cwd: cwd})
	if err != nil {
		return 1, err
	}
	defer srv.Close()

	var opts []browsertest.BrowserOption
	if r.chromium != "" {
		opts = append(opts, browsertest.WithExecPath(r.chromium))
	}
	if r.logw != nil {
		opts = append(opts, browsertest.WithBrowserOutput(r.logw))
	}
	// Go's go_js_wasm_exec gives Node.js an 8 MB stack "to ensure all tests
	// can pass". Chromium's default, about 1 MB, runs out after some 10^4
	// nested Go calls ("RangeError: Maximum call stack size exceeded"); 8 MB
	// is the whole of the renderer thread's stack and crashes the page. 4 MB
	// allows about 10^5. Only the runner raises it: the end-to-end tests keep
	// the stack a user's browser has.
	opts = append(opts, browsertest.WithAllocatorOptions(chromedp.Flag("js-flags", "--stack-size=4096")))
	ctx, cancel, err := browsertest.NewBrowser(ctx, opts...)
	if err != nil {
		return 1, err
	}
	defer cancel()
	r.logf("browser started in %v", time.Since(start).Round(time.Millisecond))
	// The fixture's /tab/ endpoints act on this tab: a page cannot take
	// itself offline or freeze itself.
	srv.fixture.SetTab(ctx)

	// Subscribe before the page exists, so that no message is lost.
	results := make(chan result, 3)
	messages := chromedp.Console(ctx)
	crashes := chromedp.Events(ctx, inspector.TargetCrashed)
	go func() { results <- r.consume(messages, results) }()
	go func() {
		for _, err := range crashes {
			if err == nil {
				results <- result{1, fmt.Errorf("go_js_wasm_exec: the page crashed (out of memory?)")}
			}
			return
		}
	}()

	// Navigate without waiting for the load event: the program runs on the
	// page's main thread and may hold it longer than any step deadline.
	nctx, ncancel := context.WithTimeout(ctx, stepTimeout)
	nav, err := chromedp.Call(nctx, page.Navigate, page.NavigateParams{URL: srv.URL})
	ncancel()
	if err != nil {
		return 1, fmt.Errorf("go_js_wasm_exec: opening %s: %w", srv.URL, err)
	}
	if nav.ErrorText != "" {
		return 1, fmt.Errorf("go_js_wasm_exec: opening %s: %s", srv.URL, nav.ErrorText)
	}
	r.logf("page %s opened, program running", srv.URL)

	var timeout <-chan time.Time
	if r.limit > 0 {
		t := time.NewTimer(r.limit - time.Since(start))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case res := <-results:
		r.logf("program ended after %v: exit code %d", time.Since(start).Round(time.Millisecond), res.code)
		return res.code, res.err
	case <-timeout:
		return 1, fmt.Errorf("go_js_wasm_exec: timed out after %v; the program did not exit "+
			"(a browser cannot tell a deadlocked Go program from one that waits for JavaScript; "+
			"set -timeout or WASM_EXEC_TIMEOUT to change the limit)", r.limit)
	case <-ctx.Done():
		return 1, fmt.Errorf("go_js_wasm_exec: stopped: %w", context.Cause(ctx))
	}
}

// consume writes the page's console to the runner's output as it arrives, in
// order, until the program exits, and returns how the run ended. After an
// uncaught exception, it sends a failure to results if the program has not
// exited within exceptionGrace.
func (r *runner) consume(messages iter.Seq2[chromedp.ConsoleMessage, error], results chan<- result) result {
	var exception *time.Timer
	for m, err := range messages {
		if err != nil {
			return result{1, fmt.Errorf("go_js_wasm_exec: lost the browser: %w", err)}
		}
		if args, ok := markerArgs(m); ok {
			switch {
			case len(args) == 3 && args[0] == "write":
				b, err := base64.StdEncoding.DecodeString(args[2])
				if err != nil {
					return result{1, fmt.Errorf("go_js_wasm_exec: bad output message: %v", err)}
				}
				w := r.stdout
				if args[1] != "1" {
					w = r.stderr
				}
				w.Write(b)
			case len(args) == 2 && args[0] == "exit":
				var code int
				if _, err := fmt.Sscan(args[1], &code); err != nil {
					return result{1, fmt.Errorf("go_js_wasm_exec: bad exit message %q", args[1])}
				}
				if exception != nil && code == 0 {
					return result{1, fmt.Errorf("go_js_wasm_exec: the program exited with code 0 after an uncaught exception")}
				}
				return result{code, nil}
			case len(args) == 2 && args[0] == "fail":
				return result{1, fmt.Errorf("go_js_wasm_exec: running the program: %s", args[1])}
			default:
				return result{1, fmt.Errorf("go_js_wasm_exec: unknown message from the page: %q", args)}
			}
			continue
		}
		switch {
		case m.IsException():
			fmt.Fprintln(r.stderr, browsertest.ConsoleText(m))
			if exception == nil {
				exception = time.AfterFunc(exceptionGrace, func() {
					results <- result{1, fmt.Errorf("go_js_wasm_exec: the program did not exit within %v of an uncaught exception", exceptionGrace)}
				})
				defer exception.Stop()
			}
		case m.Source != "":
			// The browser's own log: failed requests, CORS refusals. It
			// says why a fetch failed when JavaScript cannot, but a test
			// that expects failures would drown in it: only with -v.
			if r.logw != nil {
				fmt.Fprintln(r.logw, browsertest.ConsoleText(m))
			}
		default:
			fmt.Fprintln(r.stdout, browsertest.ConsoleText(m))
		}
	}
	return result{1, fmt.Errorf("go_js_wasm_exec: the console stream ended before the program exited")}
}

// markerArgs returns the arguments after the marker of a message run.js sent,
// as strings (numbers in their JSON form). ok is false for other messages.
func markerArgs(m chromedp.ConsoleMessage) (args []string, ok bool) {
	if m.Type != chromedp.ConsoleDebug || len(m.Args) < 2 {
		return nil, false
	}
	if first, ok := stringArg(m.Args[0]); !ok || first != marker {
		return nil, false
	}
	for _, a := range m.Args[1:] {
		if s, ok := stringArg(a); ok {
			args = append(args, s)
		} else {
			args = append(args, string(a.Value))
		}
	}
	return args, true
}

func stringArg(o *runtime.RemoteObject) (string, bool) {
	if o == nil || o.Type != runtime.RemoteObjectTypeString {
		return "", false
	}
	var s string
	if err := json.Unmarshal(o.Value, &s); err != nil {
		return "", false
	}
	return s, true
}
