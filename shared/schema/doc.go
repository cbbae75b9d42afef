// Package schema defines the typed events of an ssekit application once, so
// that the server that encodes them and the WebAssembly page that decodes
// them agree on each event's name, codec and Go type.
//
// Define an event in a package that both the server and the wasm bundle
// import, and encode and decode it there:
//
//	type Price struct {
//		Symbol string `json:"symbol"`
//		Cents  int64  `json:"cents"`
//	}
//
//	var PriceTick = schema.Define[Price]("price.tick")
//
//	data, err := PriceTick.Encode(Price{Symbol: "ACME", Cents: 12345})
//
// data is the event's data field,
//
//	{"symbol":"ACME","cents":12345}
//
// and PriceTick.Decode(data) gives the Price back. The server frames data
// once and sends the same bytes to every subscriber.
//
// # Codecs
//
// An event's [Codec] turns its values into bytes and back. [JSON]
// (encoding/json) is the default; [WithCodec] picks another for one event.
// A codec has a Name, which the fingerprint includes, because a server and
// a client using different codecs cannot read each other.
//
// [FlatJSON] is JSON without reflection for each value, for a struct of
// numbers, strings, booleans, times and slices of them: its output is
// encoding/json's byte for byte and its Name is "json", so an event can
// switch between the two without the server or the fingerprint noticing.
// In a WebAssembly page, where reflection is slow, it decodes a small event
// several times faster than JSON:
//
//	var PriceTick = schema.Define[Price]("price.tick", schema.WithCodec(schema.FlatJSON[Price]()))
//
// # Decode errors
//
// Data that does not decode gives a [*DecodeError] naming the event and
// holding the start of the data. It unwraps to the codec's error, such as a
// *json.SyntaxError or *json.UnmarshalTypeError. Nothing is lost: the stream
// goes on with the next event.
//
// # Registry and fingerprint
//
// A [Registry] holds every event of an application, by name:
//
//	var Events = schema.MustRegistry(PriceTick, OrderFilled)
//
// Its [Registry.Fingerprint] is a hash (128-bit FNV-1a) of every event's
// name, codec name and data shape. The shape is the Go type as encoding/json sees it: field names,
// json tags and options, field types, pointers, slices, array lengths and map
// keys, walked recursively. It leaves out what the wire never sees (names of
// Go types, unexported fields, fields tagged "-") and takes a type that
// marshals itself (a json.Marshaler, an encoding.TextMarshaler, time.Time,
// time.Duration) by its qualified name alone. The server sends its
// fingerprint in its hello event; a wasm bundle whose own registry has
// another fingerprint was built from other definitions, typically before a
// deploy, and the client reports it.
//
// # Reserved events
//
// Names starting with [ReservedPrefix], "ssekit.", belong to ssekit itself:
// [HelloEvent] opens every connection and [ResetEvent] tells a client that
// it missed events it cannot get back. [Define] refuses them. Their data are
// [Hello] and [Reset], encoded with [JSON].
package schema
