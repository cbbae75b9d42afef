package server_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCoreImportsOnlyStd keeps package server lean: every user of the core
// pays for what it imports, so it imports the standard library and
// ssekit's own packages only. Prometheus, CORS and NATS live in packages
// beside it.
func TestCoreImportsOnlyStd(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && !strings.HasPrefix(path, "github.com/ssekit/ssekit/") {
				t.Errorf("%s imports %s: the core package imports only the standard library and ssekit's packages", name, path)
			}
		}
	}
}

// TestBrokersDoNotFrame keeps the wire format with the server: the NATS
// broker stores and replays events, and never writes SSE or a reset.
func TestBrokersDoNotFrame(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("natsbroker/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == "github.com/ssekit/ssekit/shared/sse" {
				t.Errorf("%s imports %s: a broker leaves framing to the server (server.Message, server.NewFrame)", name, path)
			}
		}
	}
}
