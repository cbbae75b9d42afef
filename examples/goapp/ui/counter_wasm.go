//go:build js && wasm

package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/ssekit/ssekit/examples/goapp/events"
	"github.com/ssekit/ssekit/examples/goapp/live"
	"github.com/ssekit/ssekit/wasm"
)

// subscribe opens the counter's stream and registers its handlers. It runs
// in OnMount, on the UI goroutine, so it may set c's fields directly; the
// handlers may not: they run on the Source's goroutine, and hand their
// changes to the UI goroutine through ctx.Dispatch (live.On and
// live.OnStatus do it for them), which renders the page again after each.
func (c *Counter) subscribe(ctx app.Context) {
	src, err := wasm.Open(StreamURL, wasm.WithRegistry(events.Registry))
	if err != nil { // only for a URL the browser cannot parse
		c.status, c.reason = "closed", err.Error()
		return
	}
	track(src)
	// Register every handler now, before OnMount returns: a source drops
	// the events that arrive while no handler wants them.
	live.On(ctx, src, events.Tick, func(_ app.Context, v events.Count, m wasm.Meta) {
		c.add(v, m.ID)
	})
	live.OnStatus(ctx, src, func(_ app.Context, s live.Status) {
		c.status, c.reconnects, c.reason = s.String(), s.Reconnects(), ""
		if s.Err != nil && s.State != wasm.StateOpen {
			c.reason = s.Err.Reason
		}
	})
	// The other callbacks of a Source run on its goroutine as well, so they
	// too go through ctx.Dispatch.
	src.OnReset(func(string) {
		ctx.Dispatch(func(app.Context) { c.reset() })
	})
	src.OnSchemaMismatch(func(_, _ string) {
		ctx.Dispatch(func(app.Context) { c.stale = true })
	})
	c.stop = func() {
		src.Close() // never blocks; no handler starts once it has returned
		untrack()
	}
}
