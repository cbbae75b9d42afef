package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ssekit/ssekit/browsertest"
)

// The tests in this file build the runner and small js/wasm programs from
// testdata, and run them in Chromium.

var workDir string // removed after the tests

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "go_js_wasm_exec_test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// browserTest skips t in -short mode, and when Chromium is missing outside
// CI (see browsertest.RequireChromium). It returns the runner binary.
func browserTest(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browsertest.RequireChromium(t)
	return runnerBinary(t)
}

// The builds pass -buildvcs=false: a checkout without git, or without a
// commit yet, must build too.
var buildRunner = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(workDir, "go_js_wasm_exec")
	out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func runnerBinary(t testing.TB) string {
	t.Helper()
	bin, err := buildRunner()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// buildWasm builds the program testdata/name for js/wasm and returns the file.
func buildWasm(t testing.TB, name string) string {
	t.Helper()
	out := filepath.Join(workDir, name+".wasm")
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/%s: %v\n%s", name, err, b)
	}
	return out
}

// runResult is what one run of a command printed, and its exit code.
type runResult struct {
	stdout, stderr string
	code           int
}

func runCommand(t testing.TB, cmd *exec.Cmd) runResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", cmd, err)
	}
	return runResult{stdout.String(), stderr.String(), code}
}

func TestRunnerOutputAndExitCode(t *testing.T) {
	runner := browserTest(t)
	t.Parallel()
	wasm := buildWasm(t, "exit3")

	cmd := exec.Command(runner, wasm, "a", "b c")
	cmd.Env = append(os.Environ(), "SSEKIT_RUNNER_TEST=hi", "HOME=/root")
	got := runCommand(t, cmd)

	wantStdout := "stdout line 1\n" +
		"stdout line 2: héllo, 世界\n" +
		"args: [\"a\" \"b c\"]\n" +
		"env SSEKIT_RUNNER_TEST=\"hi\" HOME=\"\"\n" +
		"long:" + strings.Repeat("x", 100000) + "\n" +
		"no newline at exit"
	if got.stdout != wantStdout {
		t.Errorf("stdout of exit3 = %.200q...; want %.200q...", got.stdout, wantStdout)
	}
	if want := "stderr line 1\n"; got.stderr != want {
		t.Errorf("stderr of exit3 = %q; want %q", got.stderr, want)
	}
	if got.code != 3 {
		t.Errorf("exit code of exit3 = %d; want 3", got.code)
	}
}

func TestRunnerPanic(t *testing.T) {
	runner := browserTest(t)
	t.Parallel()
	wasm := buildWasm(t, "panics")

	got := runCommand(t, exec.Command(runner, wasm))
	if got.code == 0 {
		t.Errorf("exit code of panics = 0; want non-zero")
	}
	if want := "before the panic\n"; got.stdout != want {
		t.Errorf("stdout of panics = %q; want %q", got.stdout, want)
	}
	crashed := false
	for line := range strings.Lines(got.stderr) {
		crashed = crashed || browsertest.GoCrashed(line)
	}
	if !crashed || !strings.Contains(got.stderr, "panic: boom") {
		t.Errorf("stderr of panics = %q; want a \"panic: boom\" line", got.stderr)
	}
}

func TestRunnerUncaughtException(t *testing.T) {
	runner := browserTest(t)
	t.Parallel()
	wasm := buildWasm(t, "jsexception")

	got := runCommand(t, exec.Command(runner, wasm))
	if got.code == 0 {
		t.Errorf("exit code of jsexception = 0; want non-zero after an uncaught exception")
	}
	if !strings.Contains(got.stderr, "Uncaught Error: boom from js") {
		t.Errorf("stderr of jsexception = %q; want the exception", got.stderr)
	}
}

func TestRunnerTimeout(t *testing.T) {
	runner := browserTest(t)
	t.Parallel()
	wasm := buildWasm(t, "hang")

	// The limit counts from the runner's start, browser start and page load
	// included: on a loaded machine running the other tests, 3s did not
	// leave the program the time to print its line.
	cmd := exec.Command(runner, "-timeout=10s", wasm)
	got := runCommand(t, cmd)
	if got.code == 0 || !strings.Contains(got.stderr, "timed out after 10s") {
		t.Errorf("hang with -timeout=10s: exit code %d, stderr %q; want non-zero and \"timed out after 10s\"", got.code, got.stderr)
	}
	if got.stdout != "hanging\n" {
		t.Errorf("stdout of hang = %q; want %q", got.stdout, "hanging\n")
	}
}

// TestGoTestExec runs go test for a js/wasm package with the runner as -exec,
// as make test-wasm does.
func TestGoTestExec(t *testing.T) {
	runner := browserTest(t)
	t.Parallel()
	pkgDir, err := filepath.Abs("testdata/sometestpkg")
	if err != nil {
		t.Fatal(err)
	}
	// TestWriteFiles writes and removes files in the browser; the machine's
	// stay as they are.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(pkgDir, "testdata", "written-in-the-browser")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a file written in the browser reached the disk (Stat error = %v)", err)
		}
		if _, err := os.Stat(filepath.Join(pkgDir, "testdata", "remove-me.txt")); err != nil {
			t.Errorf("a file removed in the browser is gone from the disk: %v", err)
		}
	})

	tests := []struct {
		name     string
		args     []string
		env      []string
		wantCode int
		want     []string
		notWant  []string
	}{
		{
			name: "pass with -run and -v",
			args: []string{"-v", "-run=^(TestUserAgent|TestEnv|TestReadTestdata|TestWriteFiles|FuzzReverse|ExampleReverse)$"},
			env:  []string{"SSEKIT_RUNNER_TEST=1", "TEST_WANT_SSEKIT_RUNNER_TEST=1", "TEST_WANT_CWD=" + pkgDir},
			want: []string{
				"--- PASS: TestUserAgent",
				"--- PASS: TestEnv",
				"--- PASS: TestReadTestdata",
				"--- PASS: TestWriteFiles",
				"--- PASS: FuzzReverse/seed#0",
				"--- PASS: FuzzReverse/seed ", // the corpus file in testdata/fuzz
				"--- PASS: ExampleReverse",
				"ok  \tgithub.com/ssekit/ssekit/browsertest/cmd/go_js_wasm_exec/testdata/sometestpkg",
			},
			notWant: []string{"TestPromise"},
		},
		{
			name:     "failure",
			args:     []string{"-run=^TestFailsWhenAsked$"},
			env:      []string{"TEST_SOMETESTPKG_FAIL=1"},
			wantCode: 1,
			want:     []string{"--- FAIL: TestFailsWhenAsked", "failing as asked by TEST_SOMETESTPKG_FAIL", "FAIL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"test", "-count=1", "-exec=" + runner}, tt.args...)
			args = append(args, "./testdata/sometestpkg")
			cmd := exec.Command("go", args...)
			cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
			cmd.Env = append(cmd.Env, tt.env...)
			got := runCommand(t, cmd)
			out := got.stdout + got.stderr
			if got.code != tt.wantCode {
				t.Errorf("go %s: exit code %d; want %d\n%s", strings.Join(args, " "), got.code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("go %s: output does not contain %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("go %s: output contains %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
		})
	}
}
