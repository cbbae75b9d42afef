//go:build js && wasm

package ui

import (
	"runtime"
	"sync/atomic"

	"github.com/ssekit/ssekit/wasm"
)

// The example's end-to-end test checks that leaving the counter page frees
// what its stream held; these counts, which app/main.go shows to the test,
// are how it can tell. An application does not need them.
var (
	sourcesTracked   atomic.Int64 // opened by a Counter since the app started
	sourcesOpen      atomic.Int64 // of those, not closed yet
	sourcesCollected atomic.Int64 // of those, garbage-collected
)

// track counts src as open until untrack, and as uncollected until the
// garbage collector frees it. A Source is freed only once nothing refers
// to it, and each JavaScript function (js.Func) that it has not released
// refers to it (syscall/js keeps the Go function of every js.Func until
// its Release): a Source that is collected has released them all.
func track(src *wasm.Source) {
	sourcesOpen.Add(1)
	sourcesTracked.Add(1)
	runtime.AddCleanup(src, func(struct{}) { sourcesCollected.Add(1) }, struct{}{})
}

func untrack() { sourcesOpen.Add(-1) }

// DebugCounts returns the number of Sources that Counters opened and have
// not closed, and of those opened that the garbage collector has not freed
// yet. It collects garbage first, so that a Source nothing refers to any
// more is counted out soon: its cleanup runs shortly after the collection.
func DebugCounts() (open, uncollected int64) {
	runtime.GC()
	return sourcesOpen.Load(), sourcesTracked.Load() - sourcesCollected.Load()
}
