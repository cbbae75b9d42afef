//go:build js && wasm

package main

import (
	"encoding/json"
	"fmt"
	"syscall/js"

	"github.com/ssekit/ssekit/web/events"
)

// loadSnapshot shows the server's snapshot of prices, chat and presence,
// and returns its cursor, the ID of the last event it reflects, which the
// stream resumes from: the page shows data at once, and misses nothing
// that came after the snapshot. It returns "" (stream from now) when there
// is no snapshot, and says why on the console.
func (a *app) loadSnapshot() string {
	init := map[string]any{"cache": "no-store"}
	if a.base != "" {
		init["credentials"] = "include"
	}
	var s events.Snapshot
	if err := func() error {
		resp, err := await(js.Global().Call("fetch", a.base+"/api/snapshot?"+a.identity().Encode(), init))
		if err != nil {
			return err
		}
		text, err := await(resp.Call("text"))
		if err != nil {
			return err
		}
		if !resp.Get("ok").Bool() {
			return fmt.Errorf("HTTP %d: %s", resp.Get("status").Int(), text.String())
		}
		return json.Unmarshal([]byte(text.String()), &s)
	}(); err != nil {
		js.Global().Get("console").Call("warn", "ssekit demo: no snapshot, streaming from now: "+err.Error())
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range s.Prices {
		a.showPrice(p)
	}
	for _, c := range s.Chat {
		a.showChat(c.ID, c.ChatMessage)
	}
	a.showOnline(s.Online)
	if s.You != "" && a.userIn.Get("value").String() == "" {
		a.userIn.Set("value", s.You)
	}
	a.lastID = s.ID
	return s.ID
}
