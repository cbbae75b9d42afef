package schema_test

import (
	"errors"
	"fmt"

	"github.com/ssekit/ssekit/shared/schema"
)

type Price struct {
	Symbol string `json:"symbol"`
	Cents  int64  `json:"cents"`
}

func ExampleDefine() {
	// In a package both the server and the wasm bundle import:
	var PriceTick = schema.Define[Price]("price.tick")

	// On the server:
	data, err := PriceTick.Encode(Price{Symbol: "ACME", Cents: 12345})
	if err != nil {
		panic(err)
	}
	fmt.Printf("event: %s\ndata: %s\n", PriceTick.Name(), data)

	// In the page:
	p, err := PriceTick.Decode(data)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", p)
	// Output:
	// event: price.tick
	// data: {"symbol":"ACME","cents":12345}
	// {Symbol:ACME Cents:12345}
}

func ExampleEvent_Decode_error() {
	PriceTick := schema.Define[Price]("price.tick")

	_, err := PriceTick.Decode([]byte(`{"symbol":"ACME","cents":"many"}`))
	var de *schema.DecodeError
	if errors.As(err, &de) {
		fmt.Println("event:", de.Event)
		fmt.Println(err)
	}
	// Output:
	// event: price.tick
	// schema: decode "price.tick": json: cannot unmarshal string into Go struct field Price.cents of type int64 (data "{\"symbol\":\"ACME\",\"cents\":\"many\"}")
}

func ExampleRegistry_Fingerprint() {
	// The server and the bundle build their registries from the same
	// definitions, in whatever order.
	PriceTick := schema.Define[Price]("price.tick")
	ChatLine := schema.Define[string]("chat.line")
	server := schema.MustRegistry(PriceTick, ChatLine)
	bundle := schema.MustRegistry(ChatLine, PriceTick)
	fmt.Println("same build:", server.Fingerprint() == bundle.Fingerprint())

	// A bundle built before Price gained a field.
	type OldPrice struct {
		Symbol string `json:"symbol"`
	}
	stale := schema.MustRegistry(schema.Define[OldPrice]("price.tick"), ChatLine)
	fmt.Println("stale bundle:", server.Fingerprint() == stale.Fingerprint())
	fmt.Println(server.Names())
	// Output:
	// same build: true
	// stale bundle: false
	// [chat.line price.tick]
}
