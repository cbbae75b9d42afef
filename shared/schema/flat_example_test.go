package schema_test

import (
	"fmt"

	"github.com/ssekit/ssekit/shared/schema"
)

type quote struct {
	Symbol string   `json:"symbol"`
	Cents  int64    `json:"cents"`
	Tags   []string `json:"tags,omitempty"`
}

// FlatJSON writes what encoding/json writes, and reads it back without
// reflection.
func ExampleFlatJSON() {
	fast := schema.Define[quote]("quote", schema.WithCodec(schema.FlatJSON[quote]()))
	plain := schema.Define[quote]("quote")

	a, _ := fast.Encode(quote{Symbol: "ACME", Cents: 12345})
	b, _ := plain.Encode(quote{Symbol: "ACME", Cents: 12345})
	fmt.Println(string(a), string(a) == string(b))

	q, err := fast.DecodeString(`{"symbol":"ACME","cents":12346,"tags":["nasdaq"]}`)
	fmt.Println(q, err)

	same := schema.MustRegistry(fast).Fingerprint() == schema.MustRegistry(plain).Fingerprint()
	fmt.Println(same)
	// Output:
	// {"symbol":"ACME","cents":12345} true
	// {ACME 12346 [nasdaq]} <nil>
	// true
}
