//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/ssekit/ssekit/wasm"
	"github.com/ssekit/ssekit/web/events"
)

// defaultPostTimeout is how long a chat post waits for the server's
// answer before the page says it was not sent.
const defaultPostTimeout = 10 * time.Second

// chatPost is a message the page posts, with the Idempotency-Key that
// makes the server publish it once however often it is sent.
type chatPost struct {
	user, text, key string
}

// errTimeout is a post whose answer did not come in time.
var errTimeout = errors.New("no answer in time")

func (a *app) onChat(c events.ChatMessage, m wasm.Meta) {
	a.locked(func() { a.showChat(m.ID, c) })
}

// showChat adds a message to the chat log, once. Call with a.mu held.
func (a *app) showChat(id string, c events.ChatMessage) {
	if a.chat[id] {
		return // already shown: never twice
	}
	a.chat[id] = true
	li := el("li", "", "")
	setAttr(li, "data-id", id)
	setAttr(li, "data-received", strconv.FormatFloat(js.Global().Get("Date").Call("now").Float(), 'f', 0, 64))
	li.Call("appendChild", el("time", "", c.Time.Local().Format("15:04:05")))
	li.Call("appendChild", el("span", "user", c.User))
	li.Call("appendChild", el("span", "text", c.Text))
	a.chatLog.Call("appendChild", li)
	a.scrollChat()
}

// scrollChat scrolls the chat log to its newest message at the next frame.
// Scrolling forces a layout, which costs more than rendering the message:
// a burst of messages scrolls once.
func (a *app) scrollChat() {
	if !a.scrollPending.Swap(true) {
		js.Global().Call("requestAnimationFrame", a.scrollChatFn)
	}
}

func (a *app) onPresence(p events.Presence, _ wasm.Meta) {
	a.locked(func() { a.showOnline(p.Online) })
}

// showOnline shows who is online. Call with a.mu held.
func (a *app) showOnline(users []string) {
	a.presence.Set("textContent", "")
	for _, u := range users {
		a.presence.Call("appendChild", el("li", "", u))
	}
}

// postChat sends the form's message through the demo's API; the message
// comes back over the stream like everyone else's. While the post waits
// for its answer the form says so and sends nothing more; after
// postTimeout it gives up and says the message was not sent. A message
// sent again after a failure keeps its Idempotency-Key, so that a post
// whose answer was lost is not published twice.
func (a *app) postChat() {
	a.mu.Lock()
	if a.posting {
		a.mu.Unlock()
		return
	}
	user, text := a.userIn.Get("value").String(), a.textIn.Get("value").String()
	if a.retry == nil || a.retry.user != user || a.retry.text != text {
		a.retry = &chatPost{user: user, text: text, key: newKey()}
	}
	p := *a.retry
	a.posting = true
	a.renderPosting()
	a.mu.Unlock()

	status, reason, err := a.post(p)

	a.mu.Lock()
	defer a.mu.Unlock()
	a.posting = false
	a.renderPosting()
	again := " Send again to retry: it will not be posted twice."
	switch {
	case errors.Is(err, errTimeout):
		a.chatError(fmt.Sprintf("Not sent: the server did not answer within %v.", a.postTimeout) + again)
	case err != nil:
		a.chatError("Not sent: " + err.Error() + "." + again)
	case status == 201:
		a.retry = nil
		if a.textIn.Get("value").String() == text {
			a.textIn.Set("value", "")
		}
		a.chatErr.Set("hidden", true)
	case status >= 500 || status == 429:
		a.chatError(fmt.Sprintf("Not sent (%d): %s.", status, reason) + again)
	default: // the server will not take this message
		a.retry = nil
		a.chatError(fmt.Sprintf("Not sent (%d): %s", status, reason))
	}
}

// post posts p and returns the response's status and text, within
// a.postTimeout.
func (a *app) post(p chatPost) (status int, text string, err error) {
	body, _ := json.Marshal(map[string]string{"user": p.user, "text": p.text})
	ctrl := js.Global().Get("AbortController").New()
	init := map[string]any{
		"method":  "POST",
		"headers": map[string]any{"Content-Type": "application/json", "Idempotency-Key": p.key},
		"body":    string(body),
		"signal":  ctrl.Get("signal"),
	}
	if a.base != "" {
		init["credentials"] = "include"
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(a.postTimeout, func() {
		timedOut.Store(true)
		ctrl.Call("abort")
	})
	defer timer.Stop()
	fail := func(err error) (int, string, error) {
		if timedOut.Load() {
			return 0, "", errTimeout
		}
		return 0, "", err
	}
	resp, err := await(js.Global().Call("fetch", a.base+"/api/chat", init))
	if err != nil {
		return fail(err)
	}
	t, err := await(resp.Call("text"))
	if err != nil {
		return fail(err)
	}
	return resp.Get("status").Int(), t.String(), nil
}

// renderPosting shows whether a post waits for its answer. Call with a.mu
// held.
func (a *app) renderPosting() {
	a.send.Set("disabled", a.posting)
	a.textIn.Set("readOnly", a.posting)
	if a.posting {
		setAttr(a.form, "data-pending", "true")
		setAttr(a.form, "aria-busy", "true")
		a.send.Set("textContent", "Sending…")
		return
	}
	a.form.Call("removeAttribute", "data-pending")
	a.form.Call("removeAttribute", "aria-busy")
	a.send.Set("textContent", "Send")
}

// chatError shows why a message was not sent. Call with a.mu held.
func (a *app) chatError(msg string) {
	a.chatErr.Set("textContent", msg)
	a.chatErr.Set("hidden", false)
}

// newKey returns a new Idempotency-Key.
func newKey() string {
	return strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}
