package web

import (
	"bytes"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler serves the files of assets. For a file with precompressed
// siblings (name.br, name.gz) it picks the one the request's Accept-Encoding
// allows, brotli first, with Vary: Accept-Encoding. Every response carries
// an ETag from the content's hash and Cache-Control: no-cache, so browsers
// revalidate and get 304 while the file is unchanged. WebAssembly is served
// as application/wasm, which WebAssembly.instantiateStreaming requires; its
// uncompressed size is in X-Raw-Length, for a download progress bar.
func Handler(assets fs.FS) http.Handler {
	return &handler{assets: assets, files: make(map[string]*file)}
}

type handler struct {
	assets fs.FS
	mu     sync.Mutex
	files  map[string]*file
}

type file struct {
	raw, br, gz []byte
	etag        string
	ctype       string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	if strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
		http.NotFound(w, r)
		return
	}
	f, err := h.load(name)
	if err != nil {
		if name == "app.wasm" || name == "wasm_exec.js" {
			http.Error(w, name+" is not built: run `make run` (or `make web`) to build the bundle", http.StatusNotFound)
			return
		}
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.ctype)
	hdr.Set("Cache-Control", "no-cache")
	body, enc := f.raw, ""
	if f.br != nil || f.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		hdr.Set("X-Raw-Length", strconv.Itoa(len(f.raw)))
		switch {
		case f.br != nil && accepts(r, "br"):
			body, enc = f.br, "br"
		case f.gz != nil && accepts(r, "gzip"):
			body, enc = f.gz, "gzip"
		}
	}
	etag := `"` + f.etag
	if enc != "" {
		hdr.Set("Content-Encoding", enc)
		etag += "-" + enc
	}
	hdr.Set("ETag", etag+`"`)
	// ServeContent answers If-None-Match with 304 and handles HEAD and
	// ranges; the modification time is left out so the ETag decides.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// load reads a file and its compressed siblings once.
func (h *handler) load(name string) (*file, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f, ok := h.files[name]; ok {
		return f, nil
	}
	raw, err := fs.ReadFile(h.assets, name)
	if err != nil {
		return nil, err
	}
	f := &file{raw: raw, etag: contentHash(raw), ctype: mime.TypeByExtension(path.Ext(name))}
	if strings.HasSuffix(name, ".wasm") {
		f.ctype = "application/wasm"
	}
	if f.ctype == "" {
		f.ctype = http.DetectContentType(raw)
	}
	f.br, _ = fs.ReadFile(h.assets, name+".br")
	f.gz, _ = fs.ReadFile(h.assets, name+".gz")
	h.files[name] = f
	return f, nil
}

// accepts reports whether the request's Accept-Encoding allows coding, with
// a q-value above zero.
func accepts(r *http.Request, coding string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q := strings.TrimSpace(params)
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}
