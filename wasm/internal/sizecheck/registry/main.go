//go:build js && wasm

// Command registry is wasm/internal/sizecheck/client with a registry
// (wasm.WithRegistry): what the fingerprint check adds to a bundle. See
// wasm/internal/sizecheck/client for the measurement.
package main

import (
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

type price struct {
	Symbol string `json:"symbol"`
	Cents  int64  `json:"cents"`
}

var (
	priceTick = schema.Define[price]("price.tick")
	registry  = schema.MustRegistry(priceTick)
)

func main() {
	src, err := wasm.Open("/events?topic=prices", wasm.WithRegistry(registry))
	if err != nil {
		println(err.Error())
		return
	}
	wasm.On(src, priceTick, func(p price, m wasm.Meta) {
		println(p.Symbol, p.Cents, m.ID)
	})
	select {}
}
