//go:build js && wasm

package wasm

import (
	"sync/atomic"

	"github.com/hack-pad/safejs"
)

// liveFuncs counts the safejs.Funcs this package has made and not yet
// released. Tests read it to prove that Close leaks none.
var liveFuncs atomic.Int64

// funcOf wraps fn for JavaScript, as safejs.FuncOf does, and counts it. The
// Func must be given to release exactly once. fn runs inside a JavaScript
// callback: it must not block, and a panic in it is not recovered.
func funcOf(fn func(this safejs.Value, args []safejs.Value) any) (safejs.Func, error) {
	f, err := safejs.FuncOf(fn)
	if err != nil {
		return safejs.Func{}, err
	}
	liveFuncs.Add(1)
	return f, nil
}

// release releases a Func made by funcOf. JavaScript must not call it
// afterwards: the Go runtime would panic.
func release(f safejs.Func) {
	f.Release()
	liveFuncs.Add(-1)
}
