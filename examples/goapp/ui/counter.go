package ui

import (
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/ssekit/ssekit/examples/goapp/events"
)

// maxTicks is how many ticks the counter page lists.
const maxTicks = 100

// Counter is the live counter page: the server's latest count, the state
// of the connection and the last ticks received, each with its event ID.
//
// It subscribes in OnMount and closes its stream in OnDismount (see
// counter_wasm.go). Its fields change only on go-app's UI goroutine:
// ssekit's handlers, which run on a goroutine of their Source, hand every
// change to it with ctx.Dispatch (see package live).
type Counter struct {
	app.Compo

	status     string // "connecting", "open", "reconnecting" or "closed"
	reconnects int    // connections opened after the first
	reason     string // why the connection was lost or failed
	stale      bool   // the server has other event definitions: reload

	ticks    []tick // the last maxTicks ticks received, oldest first
	received int    // ticks received since the page was shown
	missing  int64  // counts skipped between two ticks received
	repeated int    // ticks received with a count seen already
	resets   int    // times the server could not replay what was missed

	stop func() // closes the stream; nil when none is open
}

// tick is one event as received: the count and the event's ID.
type tick struct {
	N  int64
	ID string
}

// OnMount subscribes to the counter's stream. go-app calls it only in the
// browser, on its UI goroutine, each time the page is shown.
func (c *Counter) OnMount(ctx app.Context) {
	c.status = "connecting"
	c.subscribe(ctx)
}

// OnDismount closes the stream when the page is left. Without it the
// EventSource would stay open, the Source's goroutine would keep handing
// events to a component nobody sees, and neither, nor the JavaScript
// functions the Source made, would be freed.
func (c *Counter) OnDismount() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
}

// add records a tick. It runs on the UI goroutine.
func (c *Counter) add(v events.Count, id string) {
	if n := len(c.ticks); n > 0 {
		switch last := c.ticks[n-1].N; {
		case v.N <= last:
			c.repeated++
		case v.N > last+1:
			c.missing += v.N - last - 1
		}
	}
	c.received++
	c.ticks = append(c.ticks, tick{N: v.N, ID: id})
	if len(c.ticks) > maxTicks {
		c.ticks = append(c.ticks[:0], c.ticks[len(c.ticks)-maxTicks:]...)
	}
}

// reset forgets the ticks: the server could not replay what the page
// missed, so the list would have a gap it cannot fill.
func (c *Counter) reset() {
	c.resets++
	c.ticks = nil
}

// Render renders the page. On the server, where nothing streams, it shows
// the page as it looks before the stream opens.
func (c *Counter) Render() app.UI {
	status := c.status
	if status == "" {
		status = "connecting"
	}
	latest := "—"
	if n := len(c.ticks); n > 0 {
		latest = strconv.FormatInt(c.ticks[n-1].N, 10)
	}
	return layout(LivePath, app.Section().ID("counter").Body(
		app.H1().Text("Live counter"),
		app.P().ID("status").
			DataSet("state", status).
			DataSet("reconnects", c.reconnects).
			Body(
				app.Span().Class("state "+status).Text(status),
				app.If(c.reconnects > 0, func() app.UI {
					return app.Span().Class("reconnects").Textf(" · reconnected %d×", c.reconnects)
				}),
				app.If(c.reason != "", func() app.UI {
					return app.Span().Class("reason").Text(" · " + c.reason)
				}),
			),
		app.If(c.stale, func() app.UI {
			return app.P().ID("stale").Text("The server has been updated: reload the page.")
		}),
		app.P().ID("latest").Text(latest),
		app.P().ID("summary").
			DataSet("received", c.received).
			DataSet("missing", c.missing).
			DataSet("repeated", c.repeated).
			DataSet("resets", c.resets).
			Textf("%d received since you came, %d missing, %d repeated, %d resets",
				c.received, c.missing, c.repeated, c.resets),
		app.Ul().ID("ticks").Body(
			app.Range(c.ticks).Slice(func(i int) app.UI {
				t := c.ticks[len(c.ticks)-1-i] // newest first
				return app.Li().DataSet("n", t.N).DataSet("id", t.ID).Body(
					app.Span().Class("n").Text(t.N),
					app.Span().Class("id").Text(t.ID),
				)
			}),
		),
	))
}
