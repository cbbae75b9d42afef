// Package ui is the example's go-app front end: a home page and a page
// with a live counter streamed from the server with ssekit.
//
// The package is compiled twice: into the WebAssembly app (./app), where
// the components run, and into the server (./server), where go-app renders
// each page once in advance (prerendering) so that the browser shows it
// before app.wasm has loaded. Only the browser has the page's JavaScript,
// hence EventSource and ssekit's client, package
// github.com/ssekit/ssekit/wasm, which builds only for GOOS=js GOARCH=wasm.
// So the code that opens the stream is in counter_wasm.go, and
// counter_other.go gives the server an empty stand-in. go-app calls
// OnMount only in the browser; OnInit, OnPreRender and Render run on both
// sides.
package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/ssekit/ssekit/examples/goapp/events"
)

// The app's pages.
const (
	HomePath = "/"
	LivePath = "/live"
)

// StreamURL is where the counter page streams its events from.
const StreamURL = "/events?topic=" + events.TopicCounter

// Routes registers the app's pages with go-app. Call it in the app's main
// function before app.RunWhenOnBrowser, and in the server before serving
// app.Handler, which renders the pages it knows in advance and answers 404
// for the others.
func Routes() {
	app.Route(HomePath, func() app.Composer { return &Home{} })
	app.Route(LivePath, func() app.Composer { return &Counter{} })
}

// layout is the frame of every page: a navigation bar between the pages,
// then the page's own content. Its links are plain anchors: go-app catches
// the clicks on them and changes the page in place, without loading it
// again, dismounting the components of the page left (their OnDismount)
// and mounting those of the new one (their OnMount).
func layout(active string, content app.UI) app.UI {
	link := func(path, label string) app.UI {
		a := app.A().Href(path).Text(label)
		if path == active {
			a = a.Class("active").Aria("current", "page")
		}
		return app.Li().Body(a)
	}
	return app.Div().Class("page").Body(
		app.Nav().Body(app.Ul().Body(
			link(HomePath, "Home"),
			link(LivePath, "Live counter"),
		)),
		app.Main().Body(content),
	)
}

// Home is the home page. It streams nothing: going there from the counter
// page closes the counter's stream.
type Home struct {
	app.Compo
}

// Render renders the home page.
func (h *Home) Render() app.UI {
	return layout(HomePath, app.Section().ID("home").Body(
		app.H1().Text("ssekit in a go-app front end"),
		app.P().Text("The server counts, once a tick, and streams each count as a typed "+
			"Server-Sent Event. The live counter page subscribes when it is shown "+
			"and closes its stream when you leave it."),
		app.P().Body(app.A().ID("to-live").Href(LivePath).Text("See the live counter")),
	))
}
