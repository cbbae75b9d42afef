//go:build !(js && wasm)

package live

import (
	"fmt"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ServiceWorker returns go-app's service worker, app.DefaultAppWorkerJS,
// changed to leave event streams to the browser. Give it to the server's
// app.Handler:
//
//	&app.Handler{ServiceWorkerTemplate: live.ServiceWorker(), ...}
//
// go-app's worker answers every request of the page itself, with a fetch
// of its own. For an EventSource that loses the Last-Event-ID header the
// browser adds when it reconnects (Chromium adds it after the worker, so
// the worker never sees it), and with it the server's replay: the server
// takes the reconnection for a new subscriber and the page silently misses
// what was published while it was away. The changed worker does not answer
// requests that accept text/event-stream, so the browser makes them as if
// there were no worker (and an event stream is not worth caching offline
// anyway).
//
// ServiceWorker panics if go-app's worker no longer has the fetch
// listener it changes: a newer go-app needs a newer version of this
// function.
func ServiceWorker() string {
	const listener = `self.addEventListener("fetch", (event) => {`
	if strings.Count(app.DefaultAppWorkerJS, listener) != 1 {
		panic(fmt.Sprintf("live: go-app's service worker has no single %q to change", listener))
	}
	return strings.Replace(app.DefaultAppWorkerJS, listener, listener+`
  // An event stream: leave it to the browser, which adds Last-Event-ID
  // to a reconnection only when no worker answers the request.
  if (event.request.headers.get("Accept") === "text/event-stream") {
    return;
  }`, 1)
}
