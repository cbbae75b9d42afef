//go:build js && wasm

package wasm_test

import (
	"context"
	"errors"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
	"github.com/ssekit/ssekit/wasm"
)

// A page's main function: open the stream, register the handlers, and keep
// the program alive.
func ExampleOpen() {
	src, err := wasm.Open("/events?topic=prices", wasm.WithRegistry(registry))
	if err != nil {
		println(err.Error()) // a URL the browser cannot parse
		return
	}
	wasm.On(src, priceTick, func(p price, m wasm.Meta) {
		println(p.Symbol, p.Cents, m.ID)
	})
	src.OnSchemaMismatch(func(server, client string) {
		println("this page is out of date: reload it")
	})
	src.OnReset(func(reason string) {
		println("missed events (" + reason + "): reload the prices")
	})
	select {}
}

// Tell the kinds of errors apart.
func ExampleSource_OnError() {
	src, err := wasm.Open("/events?topic=prices")
	if err != nil {
		return
	}
	src.OnError(func(err error) {
		var ce *wasm.ConnError
		var de *schema.DecodeError
		switch {
		case errors.As(err, &ce) && ce.Closed:
			println("offline for good:", ce.Reason)
		case errors.As(err, &ce):
			println("reconnecting:", ce.Reason)
		case errors.As(err, &de):
			println("skipped a", de.Event, "event:", de.Err.Error())
		}
	})
}

// Send a request body and an Authorization header with the fetch
// transport.
func ExampleWithFetch() {
	src, err := wasm.Open("/events", wasm.WithFetch(wasm.Request{
		Method: "POST",
		Header: map[string]string{
			"Authorization": "Bearer secret",
			"Content-Type":  "application/json",
		},
		Body: []byte(`{"topics":["prices","chat"]}`),
	}))
	if err != nil {
		println(err.Error())
		return
	}
	src.OnMessage(func(ev sse.Event) { println(ev.Data) })
}

// Receive typed events in a loop.
func ExampleEvents() {
	src, err := wasm.Open("/events?topic=prices")
	if err != nil {
		return
	}
	defer src.Close()
	for p := range wasm.Events(context.Background(), src, priceTick) {
		println(p.Symbol, p.Cents)
	}
}
