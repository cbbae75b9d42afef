//go:build js && wasm

package wasm

// LiveFuncs returns how many JavaScript functions the package has made and
// not released.
func LiveFuncs() int64 { return liveFuncs.Load() }

// Await is await, for the tests' own fetch calls.
var Await = await

// Queued returns the events a source has queued for its handlers, and
// their size.
func Queued(s *Source) (events, bytes int) { return s.d.Queued() }
