//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"strconv"
	"syscall/js"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

// connState is what the page knows of its connections beyond the source's
// ready state.
type connState struct {
	opens      int       // connections opened, by every source of the page
	reconnects int       // opens after the first: reconnections that worked
	failures   int       // connections lost and attempts failed, each retried
	retryAt    time.Time // when the source tries again, where it says
}

// renderStatus shows the stream's state in the status bar, and marks what
// the stream updates as stale while it is down. Call with a.mu held.
//
// Only the state's name is in the bar's live region (#status-state,
// role="status"), so that a screen reader announces each change of state
// and nothing else: not the last ID, which changes with every event, nor
// the countdown to the next attempt.
func (a *app) renderStatus() {
	state := wasm.StateClosed
	if a.src != nil {
		state = a.src.ReadyState()
		if id := a.src.LastEventID(); id != "" {
			a.lastID = id
		}
	}
	label, retry := "closed", ""
	switch state {
	case wasm.StateOpen:
		label = "live"
	case wasm.StateConnecting:
		label = "connecting"
		if a.conn.opens > 0 {
			label = "reconnecting"
		}
		if wait := time.Until(a.conn.retryAt); wait > 0 {
			retry = fmt.Sprintf(" in %ds", (wait+time.Second-1)/time.Second)
		}
	}
	for _, attr := range [...]struct{ name, value string }{
		{"data-ready-state", state.String()},
		{"data-last-event-id", a.lastID},
		{"data-transport", a.transport},
		{"data-reconnects", strconv.Itoa(a.conn.reconnects)},
		{"data-failures", strconv.Itoa(a.conn.failures)},
		{"data-resets", strconv.Itoa(a.resets)},
	} {
		if a.changed(attr.name, attr.value) {
			setAttr(a.status, attr.name, attr.value)
		}
	}
	for _, text := range [...]struct {
		el    js.Value
		key   string
		value string
	}{
		{a.state, "state", label},
		{a.retryEl, "retry", retry},
		{a.id, "id", orDash(a.lastID)},
		{a.reconnectsEl, "reconnects", strconv.Itoa(a.conn.reconnects)},
	} {
		if a.changed(text.key, text.value) {
			text.el.Set("textContent", text.value)
		}
	}
	if a.changed("title", a.lastID) {
		setAttr(a.id, "title", a.lastID) // the whole ID, where the bar cuts it
	}
	stale := state != wasm.StateOpen
	if a.changed("stale", strconv.FormatBool(stale)) {
		for _, card := range []js.Value{a.pricesCard, a.presenceCard} {
			card.Get("classList").Call("toggle", "stale", stale)
		}
		for _, e := range []js.Value{byID("prices"), a.presence} {
			if stale {
				setAttr(e, "data-stale", "true")
			} else {
				e.Call("removeAttribute", "data-stale")
			}
		}
	}
	down := a.src == nil || state == wasm.StateClosed
	if a.changed("down", strconv.FormatBool(down)) {
		a.drop.Set("disabled", down)
		a.restore.Set("disabled", !down)
	}
}

// changed reports whether value differs from what renderStatus last wrote
// under key, and remembers it. renderStatus runs for every event, and
// writing the DOM costs even when nothing changes. Call with a.mu held.
func (a *app) changed(key, value string) bool {
	if old, ok := a.shown[key]; ok && old == value {
		return false
	}
	a.shown[key] = value
	return true
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (a *app) onOpen() {
	a.locked(func() {
		if a.conn.opens > 0 {
			a.conn.reconnects++
		}
		a.conn.opens++
		a.conn.retryAt = time.Time{}
		a.status.Call("removeAttribute", "data-error")
		a.hideNotice()
	})
}

func (a *app) onError(err error) {
	a.locked(func() {
		var ce *wasm.ConnError
		var de *schema.DecodeError
		switch {
		case errors.As(err, &ce) && !ce.Closed:
			a.conn.failures++
			a.conn.retryAt = time.Time{}
			if ce.Delay > 0 {
				a.conn.retryAt = time.Now().Add(ce.Delay)
			}
		case errors.As(err, &ce):
			setAttr(a.status, "data-error", strconv.Itoa(ce.Status))
			if ce.Status == 401 || ce.Status == 403 {
				a.showNotice(refusal(ce) + " Enter the token the server was started with (its -token flag; \"demo\" unless set) in the token field: the page reconnects with it.")
				return
			}
			a.showNotice("Connection closed: " + ce.Reason + ". Restore tries again.")
		case errors.As(err, &de):
			a.showNotice("An event did not decode: " + de.Error())
		default:
			a.showNotice(err.Error())
		}
	})
}

// refusal says why the server refused the stream, in its own words.
func refusal(ce *wasm.ConnError) string {
	why := ce.Body
	if why == "" {
		why = ce.Reason
	}
	return fmt.Sprintf("The server refused the stream (%d): %s.", ce.Status, why)
}

func (a *app) onReset(reason string) {
	a.locked(func() {
		a.resets++
		a.showNotice("The server could not replay what this page missed (" + reason + "): showing live data from now on.")
		li := el("li", "system", "— events were missed here (reset: "+reason+") —")
		a.chatLog.Call("appendChild", li)
	})
}

func (a *app) onMismatch(server, client string) {
	a.locked(func() {
		setAttr(a.status, "data-schema-mismatch", "true")
		a.showNotice("This page is out of date: the server's events (" + server + ") differ from this bundle's (" + client + "). Reload the page.")
	})
}

func (a *app) showNotice(text string) {
	a.notice.Set("textContent", text)
	a.notice.Set("hidden", false)
}

func (a *app) hideNotice() {
	if a.status.Call("getAttribute", "data-schema-mismatch").Truthy() {
		return // keep telling the user to reload
	}
	a.notice.Set("hidden", true)
}
