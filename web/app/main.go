//go:build js && wasm

// Command app is the demo's page, written in Go and compiled to
// WebAssembly: it shows a snapshot of prices, chat and presence from the
// demo server, streams what comes after it with package wasm, shared by
// the page's tabs, and renders it. Query parameters of the page: server
// (base URL of the streams, for a cross-origin server), user (the name
// shown to others; without it the page is a guest whose name all tabs of
// the browser share), transport (eventsource or fetch), token (the bearer
// token of the fetch transport), post-timeout (how long a chat post waits
// for the server, a Go duration; default 10s) and events (a URL that
// replaces the stream's URL for both transports, for tests that point the
// page at a scripted server; the page then shows no snapshot).
package main

import (
	"encoding/json"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/ssekit/ssekit/wasm"
	"github.com/ssekit/ssekit/web/events"
)

type app struct {
	mu          sync.Mutex
	base        string // stream server, "" for this page's origin
	events      string // stream URL that replaces the usual one, "" for none
	user        string // the user query parameter
	guest       string // this browser's guest name, when there is no user
	postTimeout time.Duration
	src         *wasm.Source
	transport   string
	lastID      string // where a restored or switched connection resumes
	conn        connState
	resets      int
	rows        map[string]*row
	chat        map[string]bool   // chat IDs shown
	shown       map[string]string // what renderStatus last wrote, by key
	retry       *chatPost         // the post to send again with its key
	posting     bool              // a chat post waits for its answer
	funcs       []js.Func

	scrollPending atomic.Bool // a scroll of the chat log waits for a frame
	scrollChatFn  js.Func

	status, state, retryEl, id, reconnectsEl, notice js.Value
	prices, pricesCard, chatLog, presence            js.Value
	presenceCard, chatErr, form, userIn, textIn      js.Value
	send, transportEl, token, drop, restore          js.Value
}

func main() {
	q, _ := url.ParseQuery(strings.TrimPrefix(js.Global().Get("location").Get("search").String(), "?"))
	a := &app{
		base:        q.Get("server"),
		events:      q.Get("events"),
		user:        strings.TrimSpace(q.Get("user")),
		postTimeout: defaultPostTimeout,
		transport:   "eventsource",
		rows:        make(map[string]*row),
		chat:        make(map[string]bool),
		shown:       make(map[string]string),

		status:       byID("status"),
		state:        byID("status-state"),
		retryEl:      byID("status-retry"),
		id:           byID("status-id"),
		reconnectsEl: byID("status-reconnects"),
		notice:       byID("notice"),
		prices:       document.Call("querySelector", "#prices tbody"),
		pricesCard:   document.Call("querySelector", "section.prices"),
		chatLog:      byID("chat-log"),
		presence:     byID("presence"),
		presenceCard: document.Call("querySelector", "section.presence"),
		chatErr:      byID("chat-error"),
		form:         byID("chat-form"),
		userIn:       document.Call("querySelector", `#chat-form input[name="user"]`),
		textIn:       document.Call("querySelector", `#chat-form input[name="text"]`),
		send:         document.Call("querySelector", `#chat-form button`),
		transportEl:  byID("transport"),
		token:        byID("token"),
		drop:         byID("drop"),
		restore:      byID("restore"),
	}
	if a.user == "" {
		a.guest = guestName()
	}
	if q.Get("transport") == "fetch" {
		a.transport = "fetch"
	}
	if q.Has("token") {
		a.token.Set("value", q.Get("token"))
	}
	if d, err := time.ParseDuration(q.Get("post-timeout")); err == nil && d > 0 {
		a.postTimeout = d
	}
	a.userIn.Set("value", a.user)
	a.transportEl.Set("value", a.transport)
	a.transportEl.Set("disabled", false)
	a.token.Set("disabled", false)
	a.scrollChatFn = js.FuncOf(func(js.Value, []js.Value) any {
		a.scrollPending.Store(false)
		// The log scrolls, not the page: on a narrow screen the chat is
		// below the prices, and the page must stay where the user put it.
		a.chatLog.Set("scrollTop", a.chatLog.Get("scrollHeight"))
		return nil
	})
	a.bind()
	from := ""
	if a.events == "" {
		from = a.loadSnapshot()
	}
	if a.userIn.Get("value").String() == "" {
		a.userIn.Set("value", a.guest)
	}
	a.connect(from)
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
		go a.locked(a.closeSource)
	})
	on(a.restore, "click", func(js.Value) { go a.reconnect() })
	on(a.transportEl, "change", func(js.Value) {
		go func() {
			a.mu.Lock()
			a.transport = a.transportEl.Get("value").String()
			a.mu.Unlock()
			a.reconnect()
		}()
	})
	// A new token is tried at once: it is what the user does after the
	// server refused the old one.
	on(a.token, "change", func(js.Value) {
		go func() {
			a.mu.Lock()
			fetch := a.transport == "fetch"
			a.mu.Unlock()
			if fetch {
				a.reconnect()
			}
		}()
	})
	// The static page cancels native submission already (onsubmit
	// returns false): a form that reloads the page would lose the message
	// and put its text in the URL.
	on(a.form, "submit", func(e js.Value) {
		e.Call("preventDefault")
		go a.postChat()
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

// reconnect opens the stream again, with the transport and token of the
// moment, from where the last one got.
func (a *app) reconnect() {
	a.mu.Lock()
	a.closeSource()
	last := a.lastID
	a.mu.Unlock()
	a.connect(last)
}

// connect opens the stream with the chosen transport, resuming after
// lastID when it is not empty. The tabs of the browser that stream with
// the same transport, user and token share one connection
// (wasm.WithShared): over HTTP/1.1 a browser opens at most six to the
// server, across all tabs.
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
	shared := "ssekit-demo"
	if a.transport == "fetch" {
		body, _ := json.Marshal(map[string][]string{"topics": topics})
		header := map[string]string{"Content-Type": "application/json"}
		tok := a.token.Get("value").String()
		if tok != "" {
			header["Authorization"] = "Bearer " + tok
		}
		// The tab that holds a shared connection reads it with its own
		// request: tabs with another token share another.
		h := fnv.New64a()
		h.Write([]byte(tok))
		shared += "/token-" + strconv.FormatUint(h.Sum64(), 36)
		streamURL = a.base + "/private/events?" + a.identity().Encode()
		opts = append(opts, wasm.WithFetch(wasm.Request{Method: "POST", Header: header, Body: body}))
	} else {
		v := a.identity()
		v["topic"] = topics
		streamURL = a.base + "/events?" + v.Encode()
	}
	if a.events != "" {
		streamURL = a.events
	}
	opts = append(opts, wasm.WithShared(shared))
	src, err := wasm.Open(streamURL, opts...)
	if err != nil {
		a.showNotice("Cannot open the stream: " + err.Error())
		return
	}
	a.src = src
	a.conn.retryAt = time.Time{}
	a.hideNotice()
	wasm.On(src, events.PriceTick, a.onPrice)
	wasm.On(src, events.Chat, a.onChat)
	wasm.On(src, events.Join, a.onPresence)
	wasm.On(src, events.Leave, a.onPresence)
	src.OnOpen(a.onOpen)
	src.OnError(a.onError)
	src.OnReset(a.onReset)
	src.OnSchemaMismatch(a.onMismatch)
	a.renderStatus()
}

// identity returns the query that tells the server who this page is for:
// its user, or its browser's guest name.
func (a *app) identity() url.Values {
	if a.user != "" {
		return url.Values{"user": {a.user}}
	}
	return url.Values{"guest": {a.guest}}
}

func (a *app) locked(fn func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fn()
	a.renderStatus()
}
