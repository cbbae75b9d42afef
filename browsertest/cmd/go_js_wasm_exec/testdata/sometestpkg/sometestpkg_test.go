//go:build js && wasm

package sometestpkg

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall/js"
	"testing"
	"time"
)

func TestUserAgent(t *testing.T) {
	if ua := UserAgent(); !strings.Contains(ua, "Chrome") {
		t.Errorf("UserAgent() = %q; want it to contain Chrome", ua)
	}
}

// TestPromise waits for a JavaScript timer, so the Go scheduler must yield to
// the browser's event loop and be woken by a callback.
func TestPromise(t *testing.T) {
	done := make(chan struct{})
	f := js.FuncOf(func(js.Value, []js.Value) any { close(done); return nil })
	defer f.Release()
	js.Global().Call("setTimeout", f, 10)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("setTimeout callback not called within 5s")
	}
}

func TestEnv(t *testing.T) {
	want := os.Getenv("TEST_WANT_SSEKIT_RUNNER_TEST")
	if got := os.Getenv("SSEKIT_RUNNER_TEST"); got != want {
		t.Errorf("Getenv(SSEKIT_RUNNER_TEST) = %q; want %q", got, want)
	}
	if got := os.Getenv("HOME"); got != "" {
		t.Errorf("Getenv(HOME) = %q; want it not passed to the browser", got)
	}
}

// TestReadTestdata reads a file of the package directory: the runner lets the
// page read the machine's files.
func TestReadTestdata(t *testing.T) {
	got, err := os.ReadFile("testdata/fuzz/FuzzReverse/seed")
	if want := "go test fuzz v1\nstring(\"from the corpus\")\n"; string(got) != want || err != nil {
		t.Errorf("ReadFile(testdata/...) = %q, %v; want %q, nil", got, err, want)
	}
	if _, err := os.ReadFile("testdata/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(testdata/missing) error = %v; want fs.ErrNotExist", err)
	}
	if wd, err := os.Getwd(); wd != os.Getenv("TEST_WANT_CWD") || err != nil {
		t.Errorf("Getwd() = %q, %v; want %q, nil", wd, err, os.Getenv("TEST_WANT_CWD"))
	}
}

// TestWriteFiles writes files: they live in the page's memory only. The
// runner test checks that testdata/written-in-the-browser does not appear on
// the machine.
func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(", world"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(f); string(b) != "hello, world" || err != nil {
		t.Errorf("ReadAll(%s) = %q, %v; want %q, nil", p, b, err, "hello, world")
	}
	f.Close()
	if err := os.Rename(p, filepath.Join(dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != "b.txt,sub" || err != nil {
		t.Errorf("ReadDir(%s) = %s, %v; want b.txt,sub, nil", dir, got, err)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%s) after rename error = %v; want fs.ErrNotExist", p, err)
	}
	if err := os.WriteFile("testdata/written-in-the-browser", []byte("x"), 0o644); err != nil {
		t.Errorf("WriteFile(testdata/written-in-the-browser) error = %v", err)
	}
	if err := os.Remove("testdata/remove-me.txt"); err != nil {
		t.Errorf("Remove(a file of the machine) error = %v; want it gone from the page only", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("RemoveAll(%s) error = %v", dir, err)
	}
}

func ExampleReverse() {
	fmt.Println(Reverse("stressed"))
	// Output: desserts
}

// FuzzReverse has a seed corpus in testdata/fuzz, which runs in the browser
// too.
func FuzzReverse(f *testing.F) {
	f.Add("abc")
	f.Fuzz(func(t *testing.T, s string) {
		if got := Reverse(Reverse(s)); got != s {
			t.Errorf("Reverse(Reverse(%q)) = %q", s, got)
		}
	})
}

func TestFailsWhenAsked(t *testing.T) {
	if os.Getenv("TEST_SOMETESTPKG_FAIL") != "" {
		t.Fatal("failing as asked by TEST_SOMETESTPKG_FAIL")
	}
}
