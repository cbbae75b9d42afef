package browsertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ChromiumEnv is the environment variable that names the Chromium binary to
// use. It wins over every other place [FindChromium] looks in.
const ChromiumEnv = "CHROMIUM"

// chromiumNames are the commands FindChromium looks for on PATH, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

// chromiumPaths are the absolute paths FindChromium tries after PATH.
var chromiumPaths = []string{"/usr/bin/chromium"}

// ChromiumNotFoundError is the error of [FindChromium] when no Chromium binary
// is installed, or when $CHROMIUM names a file that cannot be run.
type ChromiumNotFoundError struct {
	// Env is the value of $CHROMIUM, empty when it was not set.
	Env string
	// Err is why $CHROMIUM cannot be used, nil when it was not set.
	Err error
}

func (e *ChromiumNotFoundError) Error() string {
	const hint = "install Debian's chromium: sudo apt-get install chromium, or set CHROMIUM=/path/to/chrome"
	if e.Env != "" {
		return fmt.Sprintf("browsertest: CHROMIUM=%s cannot be used: %v; %s", e.Env, e.Err, hint)
	}
	return "browsertest: no Chromium found (looked for $CHROMIUM, " +
		strings.Join(chromiumNames, ", ") + " on PATH, " +
		strings.Join(chromiumPaths, ", ") + "); " + hint
}

func (e *ChromiumNotFoundError) Unwrap() error { return e.Err }

// FindChromium returns the absolute path of the Chromium binary that browser
// tests use. It looks, in order, at $CHROMIUM, at chromium, chromium-browser
// and google-chrome on PATH, and at /usr/bin/chromium; the first executable
// file wins. scripts/ensure-chromium.sh looks in the same places.
//
// When $CHROMIUM is set, FindChromium uses it or fails: it never falls back to
// another browser behind the caller's back. The error is a
// *[ChromiumNotFoundError] that tells what to install.
func FindChromium() (string, error) {
	if env := os.Getenv(ChromiumEnv); env != "" {
		path, err := exec.LookPath(env)
		if err != nil {
			return "", &ChromiumNotFoundError{Env: env, Err: err}
		}
		// A relative $CHROMIUM must keep working after a test changes
		// directory.
		return filepath.Abs(path)
	}
	for _, name := range chromiumNames {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	for _, path := range chromiumPaths {
		if path, err := exec.LookPath(path); err == nil {
			return path, nil
		}
	}
	return "", &ChromiumNotFoundError{}
}
