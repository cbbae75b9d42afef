package main

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ssekit/ssekit/browsertest"
)

var (
	//go:embed index.html
	indexHTML []byte
	//go:embed fs.js
	fsJS []byte
	//go:embed run.js
	runJS []byte
)

// marker is the first argument of the console.debug calls through which
// run.js reports the program's output and exit. No page code logs it by
// chance.
const marker = "\x00go_js_wasm_exec"

// maxHostFile is the largest file of the machine that the page may read.
const maxHostFile = 256 << 20

// pageConfig is what config.js hands to fs.js and run.js.
type pageConfig struct {
	Argv   []string          `json:"argv"`
	Env    map[string]string `json:"env"`
	Cwd    string            `json:"cwd"`
	Wasm   string            `json:"wasm"`
	FSURL  string            `json:"fsURL"`
	Marker string            `json:"marker"`
}

// pageServer serves the page that runs one Go wasm program, on 127.0.0.1 at a
// port of the system's choosing.
//
// Everything is under a random path prefix, which only the runner and the
// browser it drives know: the page can read the machine's files (see
// serveHostFile), and other local users must not.
type pageServer struct {
	URL     string
	srv     *http.Server
	fixture *browsertest.Fixture
}

// startPageServer serves the page for the program in the file wasmPath, with
// wasmExecJS as Go's glue script and cfg for run.js.
func startPageServer(wasmPath string, wasmExecJS []byte, cfg pageConfig) (*pageServer, error) {
	cfg.Wasm = "program.wasm"
	cfg.FSURL = "fs"
	cfg.Marker = marker
	configJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("go_js_wasm_exec: encoding the page config: %v", err)
	}
	configJS := append(append([]byte("globalThis.goWasmExec = "), configJSON...), ";\n"...)

	static := func(contentType string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "no-store")
			w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", static("text/html; charset=utf-8", indexHTML))
	mux.Handle("GET /wasm_exec.js", static("text/javascript; charset=utf-8", wasmExecJS))
	mux.Handle("GET /config.js", static("text/javascript; charset=utf-8", configJS))
	mux.Handle("GET /fs.js", static("text/javascript; charset=utf-8", fsJS))
	mux.Handle("GET /run.js", static("text/javascript; charset=utf-8", runJS))
	mux.HandleFunc("GET /program.wasm", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(wasmPath)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// instantiateStreaming refuses any other type. The test binaries
		// go test builds have no .wasm extension to guess it from.
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, "", fi.ModTime(), f)
	})
	mux.HandleFunc("GET /fs", serveHostFile)
	// An SSE test server on the page's origin, which js/wasm tests reach
	// with the relative URL "_fixture/...": see browsertest.Fixture.
	fixture := browsertest.NewFixture()
	mux.Handle("/_fixture/", http.StripPrefix("/_fixture", fixture))

	var token [16]byte
	rand.Read(token[:])
	prefix := "/" + hex.EncodeToString(token[:])
	root := http.NewServeMux()
	root.Handle(prefix+"/", http.StripPrefix(prefix, mux))
	root.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent) // asked for by the browser, outside the prefix
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("go_js_wasm_exec: %v", err)
	}
	s := &pageServer{URL: "http://" + ln.Addr().String() + prefix + "/", srv: &http.Server{Handler: root}, fixture: fixture}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and the fixture, and closes their connections.
func (s *pageServer) Close() error {
	s.fixture.Close()
	return s.srv.Close()
}

// hostEntry is one entry of a directory listing for fs.js.
type hostEntry struct {
	Name    string `json:"name"`
	Dir     bool   `json:"dir"`
	Mode    uint32 `json:"mode"`
	Size    int64  `json:"size"`
	MtimeMs int64  `json:"mtimeMs"`
}

// serveHostFile serves GET fs?p=/abs/path for fs.js: the listing of a
// directory as JSON, or the bytes of a regular file. Symbolic links are
// followed; other kinds of files (devices, sockets) are hidden from listings
// and refused. The page never writes to the machine.
func serveHostFile(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("p")
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		http.Error(w, "path must be absolute and clean", http.StatusBadRequest)
		return
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case fi.IsDir():
		des, err := os.ReadDir(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		entries := []hostEntry{}
		for _, de := range des {
			info, err := os.Stat(filepath.Join(p, de.Name()))
			if err != nil || !(info.IsDir() || info.Mode().IsRegular()) {
				continue // a broken link, a device, a socket
			}
			entries = append(entries, hostEntry{
				Name: de.Name(), Dir: info.IsDir(), Mode: uint32(info.Mode().Perm()),
				Size: info.Size(), MtimeMs: info.ModTime().UnixMilli(),
			})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(entries)
	case fi.Mode().IsRegular():
		if fi.Size() > maxHostFile {
			http.Error(w, "file too large for the page", http.StatusRequestEntityTooLarge)
			return
		}
		b, err := os.ReadFile(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	default:
		http.Error(w, "not a regular file or directory", http.StatusForbidden)
	}
}

// readWasmExecJS returns Go's wasm_exec.js from the Go installation that runs
// this command: the glue must match the toolchain that built the program.
// go test puts that toolchain's bin directory first on PATH, so "go env
// GOROOT" finds it; runtime.GOROOT() (where this command was built) is the
// fallback when there is no go command on PATH.
func readWasmExecJS() ([]byte, error) {
	var roots []string
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if root := strings.TrimSpace(string(out)); root != "" {
			roots = append(roots, root)
		}
	}
	if root := runtime.GOROOT(); root != "" {
		roots = append(roots, root)
	}
	var errs []string
	for _, root := range roots {
		for _, rel := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
			b, err := os.ReadFile(filepath.Join(root, rel))
			if err == nil {
				return b, nil
			}
			errs = append(errs, err.Error())
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("go_js_wasm_exec: cannot find GOROOT: no go command on PATH")
	}
	return nil, fmt.Errorf("go_js_wasm_exec: cannot find wasm_exec.js: %s", strings.Join(errs, "; "))
}
