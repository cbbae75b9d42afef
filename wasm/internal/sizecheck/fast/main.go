//go:build js && wasm

// Command fast is wasm/internal/sizecheck/client with its event decoded by
// schema.FlatJSON instead of the default codec: what the fast codec adds
// to a bundle. See wasm/internal/sizecheck/client for the measurement.
package main

import (
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

type price struct {
	Symbol string `json:"symbol"`
	Cents  int64  `json:"cents"`
}

var priceTick = schema.Define[price]("price.tick", schema.WithCodec(schema.FlatJSON[price]()))

func main() {
	src, err := wasm.Open("/events?topic=prices")
	if err != nil {
		println(err.Error())
		return
	}
	wasm.On(src, priceTick, func(p price, m wasm.Meta) {
		println(p.Symbol, p.Cents, m.ID)
	})
	select {}
}
