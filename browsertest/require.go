package browsertest

import (
	"os"
	"testing"
)

// RequireChromium returns the path of the Chromium binary for a test, found
// by [FindChromium]. When there is none, it skips the test with the reason,
// or fails it when the environment variable CI is "true": a CI machine must
// run the browser tests, not skip them in silence.
func RequireChromium(tb testing.TB) string {
	tb.Helper()
	path, err := FindChromium()
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%v (CI=true: browser tests must not be skipped)", err)
	}
	tb.Skipf("%v (run make chromium)", err)
	return ""
}
