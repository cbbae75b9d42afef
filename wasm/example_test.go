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

// Receive typed events in a loop; break ends it and removes its handler.
func ExampleEvents() {
	src, err := wasm.Open("/events?topic=prices", wasm.WithRegistry(registry))
	if err != nil {
		return
	}
	defer src.Close()
	for p, m := range wasm.Events(context.Background(), src, priceTick) {
		println(p.Symbol, p.Cents, m.ID)
		if p.Symbol == "STOP" {
			break
		}
	}
}

// Load a snapshot of the state with its cursor, then stream what came
// after it: no gap, no duplicate.
func ExampleWithLastEventID() {
	prices, cursor := loadSnapshot() // e.g. GET /api/prices, which returns the last event ID it reflects
	src, err := wasm.Open("/events?topic=prices", wasm.WithRegistry(registry), wasm.WithLastEventID(cursor))
	if err != nil {
		return
	}
	wasm.On(src, priceTick, func(p price, _ wasm.Meta) { prices[p.Symbol] = p.Cents })
}

func loadSnapshot() (map[string]int64, string) { return map[string]int64{}, "3f9a1c0b7d2e-17" }

// Send a bearer token that is fresh on every connection attempt, and
// renewed when the server says it expired.
func ExampleWithFetchFunc() {
	var token string // from the login
	renew := func(ctx context.Context) (string, error) {
		// e.g. POST /api/token with the session cookie, awaiting the
		// response: the request function runs on a goroutine of its own.
		return "new-token", nil
	}
	src, err := wasm.Open("/private/events", wasm.WithFetchFunc(func(ctx context.Context) (wasm.Request, error) {
		if wasm.Refusal(ctx) != nil || token == "" { // after a 401
			t, err := renew(ctx)
			if err != nil {
				return wasm.Request{}, err // reported, and tried again after the backoff
			}
			token = t
		}
		return wasm.Request{Header: map[string]string{"Authorization": "Bearer " + token}}, nil
	}))
	if err != nil {
		return
	}
	src.OnError(func(err error) {
		var ce *wasm.ConnError
		if errors.As(err, &ce) && ce.Closed && (ce.Status == 401 || ce.Status == 403) {
			println("signed out:", ce.Body) // the server's reason
		}
	})
}
