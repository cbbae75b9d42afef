package main

import (
	"strings"
)

// EnvList is the environment variable that names, comma-separated, more
// variables to pass to the Go program in the browser.
const envList = "WASM_EXEC_ENV"

// passedPrefixes are the prefixes of the environment variables that reach the
// Go program: the Go settings (GODEBUG, GOTRACEBACK, GOMAXPROCS, ...), the
// TEST... variables tests use as switches, and the project's own SSEKIT_...
var passedPrefixes = []string{"GO", "TEST", "SSEKIT"}

// droppedVars are variables with a passed prefix that would make the program
// touch the file system, which the browser lacks.
var droppedVars = map[string]bool{
	"GOCOVERDIR": true, // set by go test -cover; coverage data cannot be written
}

// programEnv returns the environment of the Go program, built from environ
// (os.Environ()): the variables whose names start with one of passedPrefixes,
// and those listed in $WASM_EXEC_ENV. The rest of the machine's environment
// (PATH, HOME, credentials, ...) stays out of the page: it is no use there,
// and argv and environment together must fit in the 8 KB that wasm_exec.js
// reserves for them.
func programEnv(environ []string) map[string]string {
	extra := map[string]bool{}
	for _, e := range environ {
		if name, value, _ := strings.Cut(e, "="); name == envList {
			for v := range strings.SplitSeq(value, ",") {
				if v = strings.TrimSpace(v); v != "" {
					extra[v] = true
				}
			}
		}
	}
	env := map[string]string{}
	for _, e := range environ {
		name, value, ok := strings.Cut(e, "=")
		if !ok || name == "" {
			continue
		}
		if extra[name] || (passed(name) && !droppedVars[name]) {
			env[name] = value
		}
	}
	return env
}

func passed(name string) bool {
	for _, p := range passedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
