//go:build js && wasm

package wasm

// LiveFuncs returns how many JavaScript functions the package has made and
// not released.
func LiveFuncs() int64 { return liveFuncs.Load() }

// Await is await, for the tests' own fetch calls.
var Await = await
