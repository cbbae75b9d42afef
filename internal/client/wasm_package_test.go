package client_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The wasm package is the browser half of this package. These tests check
// the rules of its layout that its own tests, which run only in a browser,
// cannot: every file carries the js && wasm constraint, the package does
// not pull net/http into the bundle, and no other package of the module
// imports safejs.

const modulePath = "github.com/ssekit/ssekit"

// moduleRoot returns the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	goCmd(t)
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("go env GOMOD: not in a module")
	}
	return filepath.Dir(gomod)
}

func goCmd(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go command: %v", err)
	}
}

func TestWasmFilesHaveBuildConstraint(t *testing.T) {
	t.Parallel()
	root := filepath.Join(moduleRoot(t), "wasm")
	var files int
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if name := e.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		files++
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if !hasJSWasmConstraint(f) {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("wasm/%s: no //go:build js && wasm line before the package clause", filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no .go files under %s", root)
	}
}

// hasJSWasmConstraint reports whether the file's header (everything
// before the package clause) holds the js && wasm build constraint.
func hasJSWasmConstraint(r io.Reader) bool {
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if strings.HasPrefix(line, "package ") {
			return false
		}
		if line == "//go:build js && wasm" {
			return true
		}
	}
	return false
}

// listedPackage is the part of go list -json output these tests read.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Module     *struct{ Path string }
}

// goList runs go list -deps -json for GOOS=js GOARCH=wasm in the module
// root and returns the packages.
func goList(t *testing.T, patterns ...string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json=ImportPath,Imports,Module"}, patterns...)...)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", patterns, err, stderr.Bytes())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list %v: decoding its output: %v", patterns, err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestWasmDoesNotImportNetHTTP(t *testing.T) {
	t.Parallel()
	pkgs := goList(t, "./wasm")
	if !slices.ContainsFunc(pkgs, func(p listedPackage) bool { return p.ImportPath == modulePath+"/wasm" }) {
		t.Fatalf("go list ./wasm did not list %s/wasm", modulePath)
	}
	for _, p := range pkgs {
		if p.ImportPath != "net/http" {
			continue
		}
		var importers []string
		for _, q := range pkgs {
			if slices.Contains(q.Imports, "net/http") {
				importers = append(importers, q.ImportPath)
			}
		}
		t.Fatalf("the wasm package depends on net/http (imported by %s); it adds megabytes to the bundle", strings.Join(importers, ", "))
	}
}

func TestOnlyWasmImportsSafejs(t *testing.T) {
	t.Parallel()
	for _, p := range goList(t, "./...") {
		if p.Module == nil || p.Module.Path != modulePath || !slices.Contains(p.Imports, "github.com/hack-pad/safejs") {
			continue
		}
		if p.ImportPath != modulePath+"/wasm" && !strings.HasPrefix(p.ImportPath, modulePath+"/wasm/") {
			t.Errorf("%s imports github.com/hack-pad/safejs; only the wasm package may", p.ImportPath)
		}
	}
}
