//go:build js && wasm

// Command client is the smallest program that uses the wasm package (Open
// and one typed handler, the default codec), for its size budget: it may
// add at most 100 KiB of brotli over wasm/internal/sizecheck/hello, a JSON
// hello world. The other programs here are client with one more thing:
// fast (schema.FlatJSON), registry (wasm.WithRegistry, the fingerprint)
// and shared (wasm.WithShared). Scenario 8 of the benchmark harness builds
// and measures them all (make bench BENCHFLAGS=-scenario=browser, table
// 8c); by hand:
//
//	for p in hello client; do
//		GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o /tmp/$p.wasm ./wasm/internal/sizecheck/$p
//	done
//	go run ./web/cmd/precompress /tmp/hello.wasm /tmp/client.wasm
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
