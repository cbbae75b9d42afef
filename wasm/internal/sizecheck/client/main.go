//go:build js && wasm

// Command client is the smallest program that uses the wasm package (Open
// and one typed handler), for its size budget: it may add at most 250 KB
// of brotli over wasm/internal/sizecheck/hello. Measure both with
//
//	for p in hello client; do
//		GOOS=js GOARCH=wasm go build -trimpath -ldflags=-s -o /tmp/$p.wasm ./wasm/internal/sizecheck/$p
//		gzip -9 -k -f /tmp/$p.wasm; brotli -q 11 -k -f /tmp/$p.wasm
//		stat -c '%n %s' /tmp/$p.wasm /tmp/$p.wasm.gz /tmp/$p.wasm.br
//	done
//
// With Go 1.26.8 the client adds about 187 KB of brotli (hello 646 KB,
// client 832 KB).
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
