//go:build js && wasm

// Command app is the demo's page, written in Go and compiled to
// WebAssembly: it streams prices, chat and presence from the demo server
// with package wasm and renders them. Query parameters of the page:
// server (base URL of the streams, for a cross-origin server), user (the
// name shown to others), transport (eventsource or fetch), token (the
// bearer token of the fetch transport) and events (a URL that replaces the
// stream's URL for both transports, for tests that point the page at a
// scripted server).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
	"github.com/ssekit/ssekit/web/events"
)

// chartPoints is how many ticks a row's chart shows.
const chartPoints = 60

type app struct {
	mu         sync.Mutex
	base       string // stream server, "" for this page's origin
	events     string // stream URL that replaces the usual one, "" for none
	user       string
	src        *wasm.Source
	transport  string
	lastID     string // where a restored or switched connection resumes
	reconnects int
	resets     int
	rows       map[string]*row
	chat       map[string]bool   // chat IDs shown
	shown      map[string]string // what renderStatus last wrote, by key
	funcs      []js.Func

	scrollPending atomic.Bool // a scroll of the chat log waits for a frame
	scrollChatFn  js.Func

	status, state, id, reconnectsEl, notice  js.Value
	prices, chatLog, presence, chatErr, form js.Value
	transportEl, token, drop, restore        js.Value
}

type row struct {
	tr, price, change, line js.Value
	history                 []float64
}

func main() {
	q, _ := url.ParseQuery(strings.TrimPrefix(js.Global().Get("location").Get("search").String(), "?"))
	a := &app{
		base:      q.Get("server"),
		events:    q.Get("events"),
		user:      q.Get("user"),
		transport: "eventsource",
		rows:      make(map[string]*row),
		chat:      make(map[string]bool),
		shown:     make(map[string]string),

		status:       byID("status"),
		state:        byID("status-state"),
		id:           byID("status-id"),
		reconnectsEl: byID("status-reconnects"),
		notice:       byID("notice"),
		prices:       document.Call("querySelector", "#prices tbody"),
		chatLog:      byID("chat-log"),
		presence:     byID("presence"),
		chatErr:      byID("chat-error"),
		form:         byID("chat-form"),
		transportEl:  byID("transport"),
		token:        byID("token"),
		drop:         byID("drop"),
		restore:      byID("restore"),
	}
	if q.Get("transport") == "fetch" {
		a.transport = "fetch"
	}
	if t := q.Get("token"); q.Has("token") {
		a.token.Set("value", t)
	}
	if a.user != "" {
		a.form.Call("querySelector", `input[name="user"]`).Set("value", a.user)
	}
	a.transportEl.Set("value", a.transport)
	a.transportEl.Set("disabled", false)
	a.scrollChatFn = js.FuncOf(func(js.Value, []js.Value) any {
		a.scrollPending.Store(false)
		if last := a.chatLog.Get("lastElementChild"); last.Truthy() {
			last.Call("scrollIntoView", map[string]any{"block": "nearest"})
		}
		return nil
	})
	a.bind()
	a.connect("")
	for range time.Tick(250 * time.Millisecond) {
		a.mu.Lock()
		a.renderStatus()
		a.mu.Unlock()
	}
}

// bind wires the page's controls. Their callbacks only hand work to
// goroutines: a JavaScript callback must never block.
func (a *app) bind() {
	on := func(target js.Value, event string, fn func(e js.Value)) {
		f := js.FuncOf(func(_ js.Value, args []js.Value) any {
			fn(args[0])
			return nil
		})
		a.funcs = append(a.funcs, f)
		target.Call("addEventListener", event, f)
	}
	on(a.drop, "click", func(js.Value) {
		go func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.closeSource()
			a.renderStatus()
		}()
	})
	on(a.restore, "click", func(js.Value) {
		go func() {
			a.mu.Lock()
			last := a.lastID
			a.mu.Unlock()
			a.connect(last)
		}()
	})
	on(a.transportEl, "change", func(js.Value) {
		go func() {
			a.mu.Lock()
			a.transport = a.transportEl.Get("value").String()
			a.closeSource()
			last := a.lastID
			a.mu.Unlock()
			a.connect(last)
		}()
	})
	on(a.form, "submit", func(e js.Value) {
		e.Call("preventDefault")
		user := a.form.Call("querySelector", `input[name="user"]`).Get("value").String()
		text := a.form.Call("querySelector", `input[name="text"]`)
		go a.postChat(user, text)
	})
}

// closeSource closes the stream and remembers where it was. Call with a.mu
// held.
func (a *app) closeSource() {
	if a.src == nil {
		return
	}
	if id := a.src.LastEventID(); id != "" {
		a.lastID = id
	}
	a.src.Close()
	a.src = nil
}

// connect opens the stream with the chosen transport, resuming after
// lastID when it is not empty.
func (a *app) connect(lastID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closeSource()
	topics := []string{events.TopicPrices, events.TopicChat, events.TopicPresence}
	opts := []wasm.Option{wasm.WithRegistry(events.Registry), wasm.WithLastEventID(lastID)}
	if a.base != "" {
		opts = append(opts, wasm.WithCredentials())
	}
	var streamURL string
	if a.transport == "fetch" {
		body, _ := json.Marshal(map[string][]string{"topics": topics})
		header := map[string]string{"Content-Type": "application/json"}
		if tok := a.token.Get("value").String(); tok != "" {
			header["Authorization"] = "Bearer " + tok
		}
		streamURL = a.base + "/private/events"
		if a.user != "" {
			streamURL += "?" + url.Values{"user": {a.user}}.Encode()
		}
		opts = append(opts, wasm.WithFetch(wasm.Request{Method: "POST", Header: header, Body: body}))
	} else {
		v := url.Values{"topic": topics}
		if a.user != "" {
			v.Set("user", a.user)
		}
		streamURL = a.base + "/events?" + v.Encode()
	}
	if a.events != "" {
		streamURL = a.events
	}
	src, err := wasm.Open(streamURL, opts...)
	if err != nil {
		a.showNotice("Cannot open the stream: " + err.Error())
		return
	}
	a.src = src
	a.hideNotice()
	wasm.On(src, events.PriceTick, a.onPrice)
	wasm.On(src, events.Chat, a.onChat)
	wasm.On(src, events.Join, a.onPresence)
	wasm.On(src, events.Leave, a.onPresence)
	src.OnOpen(func() { a.locked(a.hideNotice) })
	src.OnError(a.onError)
	src.OnReset(a.onReset)
	src.OnSchemaMismatch(a.onMismatch)
	a.renderStatus()
}

func (a *app) locked(fn func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fn()
	a.renderStatus()
}

func (a *app) renderStatus() {
	state := wasm.StateClosed.String()
	if a.src != nil {
		state = a.src.ReadyState().String()
		if id := a.src.LastEventID(); id != "" {
			a.lastID = id
		}
	}
	for _, attr := range [...]struct{ name, value string }{
		{"data-ready-state", state},
		{"data-last-event-id", a.lastID},
		{"data-transport", a.transport},
		{"data-reconnects", strconv.Itoa(a.reconnects)},
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
		{a.state, "state", state},
		{a.id, "id", orDash(a.lastID)},
		{a.reconnectsEl, "reconnects", strconv.Itoa(a.reconnects)},
	} {
		if a.changed(text.key, text.value) {
			text.el.Set("textContent", text.value)
		}
	}
	if a.changed("drop", strconv.FormatBool(a.src == nil)) {
		a.drop.Set("disabled", a.src == nil)
		a.restore.Set("disabled", a.src != nil)
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

// scrollChat scrolls the chat log to its newest message at the next frame.
// Scrolling forces a layout, which costs more than rendering the message:
// a burst of messages scrolls once.
func (a *app) scrollChat() {
	if !a.scrollPending.Swap(true) {
		js.Global().Call("requestAnimationFrame", a.scrollChatFn)
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (a *app) onPrice(p events.Price, _ wasm.Meta) {
	a.locked(func() {
		r := a.rows[p.Symbol]
		if r == nil {
			r = a.newRow(p.Symbol)
		}
		r.price.Set("textContent", strconv.FormatFloat(p.Price, 'f', 2, 64))
		r.change.Set("textContent", fmt.Sprintf("%+.2f", p.Change))
		switch {
		case p.Change > 0:
			r.tr.Set("className", "up")
		case p.Change < 0:
			r.tr.Set("className", "down")
		default:
			r.tr.Set("className", "")
		}
		r.history = append(r.history, p.Price)
		if len(r.history) > chartPoints {
			r.history = r.history[len(r.history)-chartPoints:]
		}
		r.line.Call("setAttribute", "points", sparkline(r.history))
	})
}

// newRow adds a symbol's row in alphabetical order. Call with a.mu held.
func (a *app) newRow(symbol string) *row {
	svgNS := "http://www.w3.org/2000/svg"
	r := &row{tr: el("tr", "", ""), price: el("td", "price num", ""), change: el("td", "change num", "")}
	setAttr(r.tr, "data-symbol", symbol)
	chart := el("td", "chart", "")
	svg := document.Call("createElementNS", svgNS, "svg")
	setAttr(svg, "viewBox", "0 0 200 26")
	setAttr(svg, "preserveAspectRatio", "none")
	r.line = document.Call("createElementNS", svgNS, "polyline")
	svg.Call("appendChild", r.line)
	chart.Call("appendChild", svg)
	for _, td := range []js.Value{el("td", "symbol", symbol), r.price, r.change, chart} {
		r.tr.Call("appendChild", td)
	}
	i := 0 // rows are in alphabetical order: count those before symbol
	for s := range a.rows {
		if s < symbol {
			i++
		}
	}
	before := js.Null()
	if rows := a.prices.Get("children"); i < rows.Length() {
		before = rows.Index(i)
	}
	a.prices.Call("insertBefore", r.tr, before)
	a.rows[symbol] = r
	return r
}

// sparkline returns the points of a polyline of values in a 200×26 box.
func sparkline(values []float64) string {
	lo, hi := slices.Min(values), slices.Max(values)
	span := hi - lo
	if span == 0 {
		span = 1
	}
	b := make([]byte, 0, len(values)*12)
	for i, v := range values {
		x := 200 * float64(i) / float64(chartPoints-1)
		y := 24 - 22*(v-lo)/span
		b = strconv.AppendFloat(b, x, 'f', 1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, y, 'f', 1, 64)
		b = append(b, ' ')
	}
	return string(b)
}

func (a *app) onChat(c events.ChatMessage, m wasm.Meta) {
	a.locked(func() {
		if a.chat[m.ID] {
			return // already shown: never twice
		}
		a.chat[m.ID] = true
		li := el("li", "", "")
		setAttr(li, "data-id", m.ID)
		setAttr(li, "data-received", strconv.FormatFloat(js.Global().Get("Date").Call("now").Float(), 'f', 0, 64))
		li.Call("appendChild", el("time", "", c.Time.Local().Format("15:04:05")))
		li.Call("appendChild", el("span", "user", c.User))
		li.Call("appendChild", el("span", "text", c.Text))
		a.chatLog.Call("appendChild", li)
		a.scrollChat()
	})
}

func (a *app) onPresence(p events.Presence, _ wasm.Meta) {
	a.locked(func() {
		a.presence.Set("textContent", "")
		for _, u := range p.Online {
			a.presence.Call("appendChild", el("li", "", u))
		}
	})
}

func (a *app) onError(err error) {
	a.locked(func() {
		var ce *wasm.ConnError
		var de *schema.DecodeError
		switch {
		case errors.As(err, &ce) && !ce.Closed:
			a.reconnects++
		case errors.As(err, &ce):
			msg := "Connection closed: " + ce.Reason
			if ce.Status == 401 || ce.Status == 403 {
				msg = fmt.Sprintf("Not allowed (%d): %s. Check the token.", ce.Status, ce.Reason)
			}
			a.showNotice(msg)
			setAttr(a.status, "data-error", strconv.Itoa(ce.Status))
		case errors.As(err, &de):
			a.showNotice("An event did not decode: " + de.Error())
		default:
			a.showNotice(err.Error())
		}
	})
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

// postChat sends a chat message through the demo's API; the message comes
// back over the stream like everyone else's.
func (a *app) postChat(user string, textInput js.Value) {
	body, _ := json.Marshal(map[string]string{"user": user, "text": textInput.Get("value").String()})
	init := map[string]any{
		"method":  "POST",
		"headers": map[string]any{"Content-Type": "application/json"},
		"body":    string(body),
	}
	if a.base != "" {
		init["credentials"] = "include"
	}
	resp, err := await(js.Global().Call("fetch", a.base+"/api/chat", init))
	if err != nil {
		a.chatError("Cannot send: " + err.Error())
		return
	}
	if !resp.Get("ok").Bool() {
		text, _ := await(resp.Call("text"))
		a.chatError(fmt.Sprintf("Not sent (%d): %s", resp.Get("status").Int(), text.String()))
		return
	}
	a.mu.Lock()
	textInput.Set("value", "")
	a.chatErr.Set("hidden", true)
	a.mu.Unlock()
}

func (a *app) chatError(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.chatErr.Set("textContent", msg)
	a.chatErr.Set("hidden", false)
}
