package browsertest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests change $CHROMIUM and $PATH, so they do not run in parallel.

func TestFindChromiumEnv(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "my-chrome")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ChromiumEnv, fake)
	if got, err := FindChromium(); got != fake || err != nil {
		t.Errorf("FindChromium() with CHROMIUM=%s = %q, %v; want %q, nil", fake, got, err, fake)
	}
}

func TestFindChromiumEnvMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nothing-here")
	t.Setenv(ChromiumEnv, missing)
	_, err := FindChromium()
	var nf *ChromiumNotFoundError
	if !errors.As(err, &nf) || nf.Env != missing {
		t.Fatalf("FindChromium() with CHROMIUM=%s error = %v; want a *ChromiumNotFoundError for it", missing, err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "browsertest: ") || !strings.Contains(msg, "apt-get install chromium") {
		t.Errorf("FindChromium() error = %q; want it to start with the package and say what to install", msg)
	}
}

func TestFindChromiumPath(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "chromium-browser")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ChromiumEnv, "")
	t.Setenv("PATH", dir)
	if got, err := FindChromium(); got != fake || err != nil {
		t.Errorf("FindChromium() with PATH=%s = %q, %v; want %q, nil", dir, got, err, fake)
	}
}
