//go:build js && wasm

// Command shared is wasm/internal/sizecheck/client with its connection
// shared by the tabs of the origin (wasm.WithShared): what sharing adds to
// a bundle. See wasm/internal/sizecheck/client for the measurement.
package main

import (
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

type price struct {
	Symbol string `json:"symbol"`
	Cents  int64  `json:"cents"`
}

var priceTick = schema.Define[price]("price.tick")

func main() {
	src, err := wasm.Open("/events?topic=prices", wasm.WithShared("prices"))
	if err != nil {
		println(err.Error())
		return
	}
	wasm.On(src, priceTick, func(p price, m wasm.Meta) {
		println(p.Symbol, p.Cents, m.ID)
	})
	select {}
}
