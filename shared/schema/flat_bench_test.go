package schema_test

import (
	"testing"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// benchTick is the benchmark harness's payload (bench/wasmclient).
type benchTick struct {
	Seq uint64 `json:"seq"`
	T   int64  `json:"t"`
	Pad string `json:"pad"`
}

// benchPrice is the demo's price tick (web/events).
type benchPrice struct {
	Symbol string    `json:"symbol"`
	Price  float64   `json:"price"`
	Change float64   `json:"change"`
	Time   time.Time `json:"time"`
}

var (
	tickJSON  = schema.Define[benchTick]("tick")
	tickFlat  = schema.Define[benchTick]("tick", schema.WithCodec(schema.FlatJSON[benchTick]()))
	priceJSON = schema.Define[benchPrice]("price")
	priceFlat = schema.Define[benchPrice]("price", schema.WithCodec(schema.FlatJSON[benchPrice]()))

	tickData  = `{"seq":12345,"t":1732160000000000000,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`
	priceData = `{"symbol":"ACME","price":123.45,"change":-0.25,"time":"2026-12-01T10:30:00.123456789Z"}`
)

// BenchmarkCodecDecode compares FlatJSON with JSON (encoding/json) on the
// client's decoding step, DecodeString. In a wasm page run it with
//
//	GOOS=js GOARCH=wasm go test -exec=$PWD/bin/go_js_wasm_exec -run=NONE -bench=Codec ./shared/schema/
func BenchmarkCodecDecode(b *testing.B) {
	b.Run("tick/json", func(b *testing.B) { benchDecode(b, tickJSON, tickData) })
	b.Run("tick/flat", func(b *testing.B) { benchDecode(b, tickFlat, tickData) })
	b.Run("price/json", func(b *testing.B) { benchDecode(b, priceJSON, priceData) })
	b.Run("price/flat", func(b *testing.B) { benchDecode(b, priceFlat, priceData) })
}

func benchDecode[T any](b *testing.B, ev schema.Event[T], data string) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ev.DecodeString(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodecEncode compares FlatJSON with JSON on the server's encoding
// step, Encode.
func BenchmarkCodecEncode(b *testing.B) {
	tick := benchTick{Seq: 12345, T: 1732160000000000000, Pad: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
	price := benchPrice{Symbol: "ACME", Price: 123.45, Change: -0.25, Time: time.Date(2026, 12, 1, 10, 30, 0, 123456789, time.UTC)}
	b.Run("tick/json", func(b *testing.B) { benchEncode(b, tickJSON, tick) })
	b.Run("tick/flat", func(b *testing.B) { benchEncode(b, tickFlat, tick) })
	b.Run("price/json", func(b *testing.B) { benchEncode(b, priceJSON, price) })
	b.Run("price/flat", func(b *testing.B) { benchEncode(b, priceFlat, price) })
}

func benchEncode[T any](b *testing.B, ev schema.Event[T], v T) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ev.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}
