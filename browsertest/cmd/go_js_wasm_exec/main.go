// Command go_js_wasm_exec runs a Go js/wasm program in headless Chromium, the
// way Go's own go_js_wasm_exec runs it in Node.js:
//
//	go_js_wasm_exec [flags] program.wasm [args...]
//
// It exits with the program's exit code. What the program writes to standard
// output and standard error comes out on the same streams, byte for byte, as
// it is written; other console messages of the page go to standard output,
// uncaught JavaScript exceptions to standard error, and make the run fail.
// The browser's own log (failed requests, CORS refusals) is shown with -v.
//
// With the command on PATH, or named by go test's -exec flag, the tests of a
// js/wasm package run in the browser:
//
//	go build -o bin/go_js_wasm_exec ./browsertest/cmd/go_js_wasm_exec
//	GOOS=js GOARCH=wasm go test -exec=$PWD/bin/go_js_wasm_exec ./wasm/...
//
// The program sees the machine's files read-only, from the runner's working
// directory (the package directory under go test), so testdata/ and the fuzz
// seed corpus work. What it writes (t.TempDir, os.CreateTemp, the file in
// which the testing package captures an Example's output) stays in the page's
// memory and never reaches the disk. So the flags of go test that write
// result files are dropped with a note (-cpuprofile, -trace, ...), and
// coverage (-cover, -coverprofile) is refused.
//
// The page's origin also serves a [browsertest.Fixture], an SSE test server,
// under the relative URL "_fixture/". Its /tab/ endpoints act on the page's
// own tab with the DevTools protocol (take it offline, freeze it), for tests
// of what a page does when the browser does that to it.
//
// The program sees only part of the environment: the variables whose names
// start with GO, TEST or SSEKIT, and those that $WASM_EXEC_ENV lists,
// comma-separated.
//
// The run stops after -timeout. By default that is the -test.timeout that
// go test passes plus 30 seconds (so the test binary's own timeout, with its
// goroutine dump, fires first), or 10 minutes when there is none.
//
// Chromium is found like [browsertest.FindChromium] finds it: $CHROMIUM, then
// chromium, chromium-browser or google-chrome on PATH, then /usr/bin/chromium.
//
// Flags:
//
//	-timeout duration  stop after this long; 0 means never ($WASM_EXEC_TIMEOUT)
//	-chromium path     the Chromium binary ($CHROMIUM)
//	-v                 print what the runner and Chromium do to standard error ($WASM_EXEC_VERBOSE)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ssekit/ssekit/browsertest"
)

const (
	// defaultTimeout bounds a run when neither -timeout nor -test.timeout
	// says how long it may take.
	defaultTimeout = 10 * time.Minute
	// timeoutMargin is added to -test.timeout: the test binary's own alarm
	// panics with every goroutine's stack, which says more than ours. The go
	// command kills the runner one minute after -test.timeout.
	timeoutMargin = 30 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command with its flags, environment and output passed in. It
// returns the exit code.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	getenv := func(name string) string {
		for i := len(environ) - 1; i >= 0; i-- {
			if k, v, _ := strings.Cut(environ[i], "="); k == name {
				return v
			}
		}
		return ""
	}

	flags := flag.NewFlagSet("go_js_wasm_exec", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: go_js_wasm_exec [flags] program.wasm [args...]")
		flags.PrintDefaults()
	}
	timeoutFlag := flags.String("timeout", getenv("WASM_EXEC_TIMEOUT"), "stop the program after this `duration`; 0 means never (default: -test.timeout + 30s, or 10m)")
	chromium := flags.String("chromium", getenv(browsertest.ChromiumEnv), "the Chromium binary (default: found on PATH)")
	verbose := flags.Bool("v", getenv("WASM_EXEC_VERBOSE") != "", "print what the runner and Chromium do to standard error")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() < 1 {
		flags.Usage()
		return 2
	}

	wasmPath := flags.Arg(0)
	progArgs, testTimeout, hasTestTimeout, err := programArgs(flags.Args()[1:], stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var limit time.Duration
	switch {
	case *timeoutFlag != "":
		if limit, err = time.ParseDuration(*timeoutFlag); err != nil || limit < 0 {
			fmt.Fprintf(stderr, "go_js_wasm_exec: bad -timeout (or $WASM_EXEC_TIMEOUT) %q\n", *timeoutFlag)
			return 2
		}
	case hasTestTimeout && testTimeout == 0:
		limit = 0 // go test -timeout=0: no limit, as asked
	case hasTestTimeout:
		limit = testTimeout + timeoutMargin
	default:
		limit = defaultTimeout
	}

	r := &runner{
		wasmPath: wasmPath,
		argv:     append([]string{wasmPath}, progArgs...),
		env:      programEnv(environ),
		chromium: *chromium,
		limit:    limit,
		stdout:   stdout,
		stderr:   stderr,
	}
	if *verbose {
		r.logw = stderr
	}
	code, err := r.run(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
