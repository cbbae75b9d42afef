// Package web holds the demo's front end: the page and its assets, embedded
// into the demo server, and the handler that serves them, including the
// WebAssembly bundle precompressed with brotli and gzip.
//
// The bundle (app.wasm, app.wasm.br, app.wasm.gz) and wasm_exec.js are build
// outputs written into static/ by `make web`; they are not committed.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

//go:embed static
var static embed.FS

// Assets returns the embedded static files.
func Assets() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("web: " + err.Error()) // static is a literal directory of this package
	}
	return sub
}

func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
