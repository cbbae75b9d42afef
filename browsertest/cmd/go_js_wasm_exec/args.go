package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// fileFlags are the test flags that make the test binary create files. The
// browser has no file system, so the program would fail to start or fail at
// exit; the runner drops them and says so. The go command adds
// -test.outputdir to the profile flags, which is harmless alone.
var fileFlags = map[string]bool{
	"test.testlogfile":  true, // go test's cache log; the go command omits it with -exec
	"test.cpuprofile":   true,
	"test.memprofile":   true,
	"test.blockprofile": true,
	"test.mutexprofile": true,
	"test.trace":        true,
	"test.fuzzcachedir": true,
	"test.artifacts":    true,
}

// coverFlags are the flags of go test -cover and -coverprofile. A binary
// built for coverage writes its counters to a directory at exit, and makes a
// temporary one when the flag is missing, so it fails in the browser either
// way: the runner refuses to start it.
var coverFlags = map[string]bool{
	"test.gocoverdir":   true,
	"test.coverprofile": true,
}

// boolFlags are the test flags among fileFlags that take no value, so that
// "-test.artifacts" does not swallow the next argument.
var boolFlags = map[string]bool{
	"test.artifacts": true,
}

// silentFlags are dropped without a note, because the go command passes them on
// its own and nothing is lost when they are missing.
var silentFlags = map[string]bool{
	"test.testlogfile": true,
}

// errCover is the error for a coverage run.
var errCover = errors.New("go_js_wasm_exec: coverage (-cover, -coverprofile) needs a file system, which the browser has not; " +
	"measure coverage with the host tests (GOOS unset)")

// programArgs returns the arguments to pass to the Go program: args with the
// flags that need a file system removed. It writes one note per removed flag
// to notes. It also returns the value of -test.timeout, and whether there was
// one, so the runner can wait a little longer than the test binary itself.
func programArgs(args []string, notes io.Writer) (kept []string, testTimeout time.Duration, hasTimeout bool, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue, ok := testFlag(arg)
		if !ok {
			kept = append(kept, arg)
			continue
		}
		if name == "test.timeout" {
			if !hasValue && i+1 < len(args) {
				value, hasValue = args[i+1], true
			}
			if hasValue {
				d, err := time.ParseDuration(value)
				if err != nil {
					return nil, 0, false, fmt.Errorf("go_js_wasm_exec: bad -test.timeout %q: %v", value, err)
				}
				testTimeout, hasTimeout = d, true
			}
		}
		if coverFlags[name] {
			return nil, 0, false, errCover
		}
		if !fileFlags[name] {
			kept = append(kept, arg)
			continue
		}
		if !hasValue && !boolFlags[name] && i+1 < len(args) {
			i++ // the value is the next argument
			value = args[i]
		}
		if !silentFlags[name] {
			fmt.Fprintf(notes, "go_js_wasm_exec: ignoring -%s: the browser has no file system\n", name)
		}
	}
	return kept, testTimeout, hasTimeout, nil
}

// testFlag splits a "-test.name=value", "--test.name=value" or "-test.name"
// argument. ok is false for anything else.
func testFlag(arg string) (name, value string, hasValue, ok bool) {
	s, found := strings.CutPrefix(arg, "--")
	if !found {
		s, found = strings.CutPrefix(arg, "-")
	}
	if !found || !strings.HasPrefix(s, "test.") {
		return "", "", false, false
	}
	name, value, hasValue = strings.Cut(s, "=")
	return name, value, hasValue, true
}
