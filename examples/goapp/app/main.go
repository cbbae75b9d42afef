//go:build js && wasm

// Command app is the example's front end, compiled to WebAssembly:
//
//	GOOS=js GOARCH=wasm go build -o web/app.wasm ./app
//
// The server (./server) serves it as /web/app.wasm, with go-app's page and
// loader around it.
package main

import (
	"runtime"
	"syscall/js"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/ssekit/ssekit/examples/goapp/ui"
)

func main() {
	ui.Routes()
	exposeCounts()
	app.RunWhenOnBrowser() // renders the page of the URL, then runs go-app's UI loop for good
}

// exposeCounts makes goappExample.counts() return, for the example's
// end-to-end test, the program's goroutines and the Sources that the
// counter page has open and that are not yet garbage-collected (see
// ui.DebugCounts). An application leaves this out.
func exposeCounts() {
	counts := js.FuncOf(func(js.Value, []js.Value) any {
		open, uncollected := ui.DebugCounts()
		return map[string]any{
			"goroutines":  runtime.NumGoroutine(),
			"sources":     open,
			"uncollected": uncollected,
		}
	})
	// Never released: the page may call it as long as it lives.
	js.Global().Set("goappExample", map[string]any{"counts": counts})
}
