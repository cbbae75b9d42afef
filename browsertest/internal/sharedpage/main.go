//go:build js && wasm

// Command sharedpage is the page of the browser tests of wasm.WithShared
// (browsertest/shared_test.go): it opens one source with the options of
// its query and records what the source delivers, for the test to read
// with sharedReport(), a JSON string. Query parameters:
//
//	url        the stream, relative to the page
//	name       the WithShared name; none: a source of its own
//	transport  "fetch" for WithFetch; the native EventSource otherwise
//	cursor     WithLastEventID(cursor)
package main

import (
	"encoding/json"
	"net/url"
	"strconv"
	"sync"
	"syscall/js"

	"github.com/ssekit/ssekit/browsertest/internal/sharedreport"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

// seq is the event of the fixture's sequences: 1, 2, 3, ...
var seq = schema.Define[int]("seq")

func main() {
	q, _ := url.ParseQuery(js.Global().Get("location").Get("search").String()[1:])
	var (
		mu  sync.Mutex
		rep sharedreport.Report
		src *wasm.Source
	)
	js.Global().Set("sharedReport", js.FuncOf(func(js.Value, []js.Value) any {
		mu.Lock()
		defer mu.Unlock()
		r := rep
		if src != nil {
			r.State = src.ReadyState().String()
			r.LastID = src.LastEventID()
		}
		b, _ := json.Marshal(r)
		return string(b)
	}))
	opts := []wasm.Option{wasm.WithRegistry(schema.MustRegistry(seq))}
	if name := q.Get("name"); name != "" {
		opts = append(opts, wasm.WithShared(name))
	}
	if q.Get("transport") == "fetch" {
		opts = append(opts, wasm.WithFetch(wasm.Request{}))
	}
	if q.Has("cursor") {
		opts = append(opts, wasm.WithLastEventID(q.Get("cursor")))
	}
	s, err := wasm.Open(q.Get("url"), opts...)
	mu.Lock()
	src = s
	if err != nil {
		rep.OpenErr = err.Error()
	}
	mu.Unlock()
	if err != nil {
		select {}
	}
	wasm.On(s, seq, func(v int, m wasm.Meta) {
		mu.Lock()
		rep.Values = append(rep.Values, v)
		rep.IDs = append(rep.IDs, m.ID)
		mu.Unlock()
	})
	s.OnOpen(func() {
		mu.Lock()
		rep.Opens++
		mu.Unlock()
	})
	s.OnError(func(err error) {
		mu.Lock()
		rep.Errors = append(rep.Errors, err.Error())
		mu.Unlock()
	})
	s.OnReset(func(reason string) {
		mu.Lock()
		rep.Resets = append(rep.Resets, reason)
		mu.Unlock()
	})
	s.OnSchemaMismatch(func(server, client string) {
		mu.Lock()
		rep.Mismatches++
		mu.Unlock()
	})
	js.Global().Set("sharedReady", true)
	println("sharedpage: " + strconv.Quote(q.Get("name")) + " ready")
	select {}
}
