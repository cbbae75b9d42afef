//go:build js && wasm

// Package sometestpkg has tests that only pass in a browser. The runner test
// runs them with go test -exec=go_js_wasm_exec.
package sometestpkg

import "syscall/js"

// UserAgent returns the browser's navigator.userAgent.
func UserAgent() string {
	return js.Global().Get("navigator").Get("userAgent").String()
}

// Reverse returns s with its bytes in reverse order.
func Reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}
