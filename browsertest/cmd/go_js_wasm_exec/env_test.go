package main

import (
	"maps"
	"testing"
)

func TestProgramEnv(t *testing.T) {
	t.Parallel()
	environ := []string{
		"HOME=/root",
		"PATH=/usr/bin",
		"GOOS=js",
		"GODEBUG=x=1",
		"GOCOVERDIR=/tmp/cov",
		"TEST_FLAG=1",
		"SSEKIT_URL=http://x=y",
		"AWS_SECRET=no",
		"WASM_EXEC_ENV=LANG, TZ,,",
		"LANG=C.UTF-8",
		"TZ=UTC",
		"NOEQUALS",
	}
	want := map[string]string{
		"GOOS":       "js",
		"GODEBUG":    "x=1",
		"TEST_FLAG":  "1",
		"SSEKIT_URL": "http://x=y",
		"LANG":       "C.UTF-8",
		"TZ":         "UTC",
	}
	if got := programEnv(environ); !maps.Equal(got, want) {
		t.Errorf("programEnv(%q) = %v; want %v", environ, got, want)
	}
}
