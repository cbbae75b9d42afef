package schema

import "encoding/json"

// Codec turns values into event data and back. An [Event] uses one Codec for
// both directions, so the server and the page must agree on it; its Name is
// part of the [Registry.Fingerprint] for that reason.
//
// Implementations must be safe for concurrent use.
//
// Marshal returns a slice the caller owns. Its bytes become the SSE data
// field, which the framing splits at every CR, LF and CRLF and the receiver
// joins again with LF: a codec whose output contains CR reaches Unmarshal
// with LF in its place. Output free of CR (like that of [JSON]) arrives
// byte for byte.
//
// Unmarshal decodes data into v, a non-nil pointer. It must not retain data
// after it returns: the caller may reuse the buffer.
type Codec interface {
	// Name identifies the codec's wire format, such as "json". Two codecs
	// with one Name must read each other's output.
	Name() string
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default [Codec]: encoding/json's Marshal and Unmarshal, named
// "json". Its output never contains a raw CR or LF: encoding/json writes
// compact JSON, escapes line breaks inside strings and compacts what
// json.Marshaler implementations return, so a value fits on one data line.
// Use it as JSON{}.
type JSON struct{}

// Name implements [Codec].
func (JSON) Name() string { return "json" }

// Marshal implements [Codec].
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements [Codec].
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
