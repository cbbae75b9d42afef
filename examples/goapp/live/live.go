//go:build js && wasm

// Package live runs the handlers of an ssekit [wasm.Source] on go-app's UI
// goroutine, so that they may change a component's fields.
//
// A Source calls its handlers on a goroutine of its own, one at a time, in
// the order the events arrived. go-app, for its part, renders and changes
// components on one goroutine, its UI goroutine, and has every other
// goroutine hand it work with [app.Context.Dispatch]: Dispatch queues a
// function for the UI goroutine, which runs it and then renders the
// component again. A handler that set a component's field directly would
// race with the rendering, and the component would not be rendered again.
// So each function here wraps the handler in ctx.Dispatch:
//
//	func (c *Counter) OnMount(ctx app.Context) {
//		src, err := wasm.Open("/events?topic=counter")
//		if err != nil {
//			return
//		}
//		c.src = src
//		live.On(ctx, src, events.Tick, func(ctx app.Context, v events.Count, m wasm.Meta) {
//			c.last = v.N // on the UI goroutine: no race, and c renders again
//		})
//	}
//
//	func (c *Counter) OnDismount() { c.src.Close() }
//
// Dispatch keeps the order in which the Source called it, and drops what it
// is given for a component that is no longer mounted, so a handler that
// was running while the component went away changes nothing.
//
// ctx.Async is go-app's way to start a goroutine of one's own (so that
// server-side rendering can wait for it); a Source starts its own, so there
// is nothing to wrap in Async.
package live

import (
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

// On registers fn for the events ev of src, as [wasm.On] does, and runs fn
// on the UI goroutine of the component that ctx belongs to (through
// ctx.Dispatch), which go-app renders again after fn. Pass the ctx of the
// component's OnMount. The returned off removes the handler.
func On[T any](ctx app.Context, src *wasm.Source, ev schema.Event[T], fn func(ctx app.Context, v T, m wasm.Meta)) (off func()) {
	return wasm.On(src, ev, func(v T, m wasm.Meta) {
		ctx.Dispatch(func(ctx app.Context) { fn(ctx, v, m) })
	})
}

// Status is what a page shows of its connection.
type Status struct {
	// State is the source's ReadyState when the status changed.
	State wasm.ReadyState
	// Opens counts the connections opened so far: the first and every
	// reconnection.
	Opens int
	// Err is the last connection error, nil until the first.
	Err *wasm.ConnError
}

// Reconnecting reports whether the source lost its connection and is
// connecting again.
func (s Status) Reconnecting() bool { return s.State == wasm.StateConnecting && s.Opens > 0 }

// Reconnects is the number of connections opened after the first.
func (s Status) Reconnects() int { return max(s.Opens-1, 0) }

// String returns "connecting", "open", "reconnecting" or "closed".
func (s Status) String() string {
	if s.Reconnecting() {
		return "reconnecting"
	}
	return s.State.String()
}

// OnStatus calls fn, on the UI goroutine of ctx's component, with the
// status of src each time its connection opens, is lost or fails. The
// status starts as connecting, before the first call. Decode errors, which
// leave the connection as it is, do not call fn; see
// [wasm.Source.OnError].
//
// A source closed by [wasm.Source.Close] calls no handler afterwards: a
// component that closes its source in OnDismount is gone by then anyway.
func OnStatus(ctx app.Context, src *wasm.Source, fn func(ctx app.Context, s Status)) (off func()) {
	// The Source runs these handlers one at a time, so st needs no lock; each
	// call hands the UI goroutine a copy.
	st := Status{State: wasm.StateConnecting}
	report := func() {
		s := st
		ctx.Dispatch(func(ctx app.Context) { fn(ctx, s) })
	}
	offOpen := src.OnOpen(func() {
		st.State = wasm.StateOpen
		st.Opens++
		report()
	})
	offErr := src.OnError(func(err error) {
		var ce *wasm.ConnError
		if !errors.As(err, &ce) {
			return
		}
		st.Err = ce
		// The state of the moment of the error: by now a reconnecting
		// source may be open again (see wasm.Source.ReadyState).
		st.State = wasm.StateConnecting
		if ce.Closed {
			st.State = wasm.StateClosed
		}
		report()
	})
	return func() {
		offOpen()
		offErr()
	}
}
