package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/shared/schema"
)

type price struct {
	Symbol string  `json:"symbol"`
	Cents  int64   `json:"cents"`
	Ratio  float64 `json:"ratio,omitempty"`
}

type order struct {
	ID     string            `json:"id"`
	Lines  []price           `json:"lines"`
	Labels map[string]string `json:"labels,omitempty"`
	Note   *string           `json:"note"`
	Tags   [2]string         `json:"tags"`
}

// textCodec encodes strings as themselves: a codec that is not JSON.
type textCodec struct{}

func (textCodec) Name() string { return "text" }

func (textCodec) Marshal(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("text: cannot marshal %T", v)
	}
	return []byte(s), nil
}

func (textCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*string)
	if !ok {
		return fmt.Errorf("text: cannot unmarshal into %T", v)
	}
	*p = string(data)
	return nil
}

// roundTrip encodes v with e, decodes the result and checks it equals v.
func roundTrip[T any](t *testing.T, e schema.Event[T], v T) []byte {
	t.Helper()
	data, err := e.Encode(v)
	if err != nil {
		t.Fatalf("Encode(%#v) error: %v", v, err)
	}
	got, err := e.Decode(data)
	if err != nil {
		t.Fatalf("Decode(%q) error: %v", data, err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("Decode(%q) = %#v; want %#v", data, got, v)
	}
	return data
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	note := "rush"
	t.Run("struct", func(t *testing.T) {
		t.Parallel()
		data := roundTrip(t, schema.Define[price]("price.tick"), price{Symbol: "ACME", Cents: 12345})
		if want := `{"symbol":"ACME","cents":12345}`; string(data) != want {
			t.Errorf("Encode = %s; want %s", data, want)
		}
	})
	t.Run("nested", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, schema.Define[order]("order"), order{
			ID:     "o-1",
			Lines:  []price{{Symbol: "A", Cents: 1, Ratio: 0.5}, {Symbol: "B", Cents: -2}},
			Labels: map[string]string{"desk": "fx", "line\nbreak": "a\r\nb"},
			Note:   &note,
			Tags:   [2]string{"x", "y"},
		})
	})
	t.Run("pointer", func(t *testing.T) {
		t.Parallel()
		e := schema.Define[*price]("price.ptr")
		roundTrip(t, e, &price{Symbol: "ACME", Cents: 1})
		if data := roundTrip(t, e, nil); string(data) != "null" {
			t.Errorf("Encode(nil) = %s; want null", data)
		}
	})
	t.Run("slice", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, schema.Define[[]price]("prices"), []price{{Symbol: "A"}, {Symbol: "B", Cents: 2}})
	})
	t.Run("custom codec", func(t *testing.T) {
		t.Parallel()
		e := schema.Define[string]("chat.line", schema.WithCodec(textCodec{}))
		if got := e.Codec().Name(); got != "text" {
			t.Errorf("Codec().Name() = %q; want text", got)
		}
		if data := roundTrip(t, e, "hello, world"); string(data) != "hello, world" {
			t.Errorf("Encode = %q; want %q", data, "hello, world")
		}
	})
}

func TestEventAccessors(t *testing.T) {
	t.Parallel()
	e := schema.Define[price]("price.tick")
	if got := e.Name(); got != "price.tick" {
		t.Errorf("Name() = %q; want price.tick", got)
	}
	if got := e.Codec(); got != (schema.JSON{}) {
		t.Errorf("Codec() = %v; want JSON", got)
	}
	if got, want := e.Type(), reflect.TypeFor[price](); got != want {
		t.Errorf("Type() = %v; want %v", got, want)
	}
	var d schema.Definition = e // an Event is a Definition
	if _, ok := d.(schema.Event[price]); !ok {
		t.Errorf("Definition %T does not assert back to Event[price]", d)
	}
}

func TestZeroEventUsesJSON(t *testing.T) {
	t.Parallel()
	var e schema.Event[int]
	if e.Codec() != (schema.JSON{}) {
		t.Fatalf("zero Event Codec() = %v; want JSON", e.Codec())
	}
	roundTrip(t, e, 42)
}

func TestEncodeError(t *testing.T) {
	t.Parallel()
	e := schema.Define[chan int]("bad")
	_, err := e.Encode(make(chan int))
	if err == nil {
		t.Fatal("Encode(chan) error = nil; want one")
	}
	if want := `schema: encode "bad": `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Encode(chan) error = %q; want prefix %q", err, want)
	}
	var ute *json.UnsupportedTypeError
	if !errors.As(err, &ute) {
		t.Errorf("Encode(chan) error %v does not wrap a *json.UnsupportedTypeError", err)
	}
}

func TestDefinePanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want string // substring of the panic message
	}{
		{"", "empty event name"},
		{"a\nb", "CR, LF or NUL"},
		{"a\rb", "CR, LF or NUL"},
		{"a\x00b", "CR, LF or NUL"},
		{"\xffprice", "not valid UTF-8"},
		{"ssekit.x", "reserved prefix"},
		{schema.HelloEvent, "reserved prefix"},
		{schema.ResetEvent, "reserved prefix"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			t.Parallel()
			msg := panicMessage(func() { schema.Define[int](tt.name) })
			if !strings.HasPrefix(msg, "schema: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("Define(%q) panic = %q; want a schema: panic containing %q", tt.name, msg, tt.want)
			}
		})
	}
}

func TestDefineAccepts(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"price.tick", "message", "ssekit", "SSEKIT.x", "x.ssekit.y", "prix €", " spaced "} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if msg := panicMessage(func() { schema.Define[int](name) }); msg != "" {
				t.Errorf("Define(%q) panic = %q; want none", name, msg)
			}
		})
	}
}

// TestWithCodecNilPanics checks the rule for bad options: the constructor,
// Define, panics and names the option; the option itself does not.
func TestWithCodecNilPanics(t *testing.T) {
	t.Parallel()
	opt := schema.WithCodec(nil) // no panic yet
	msg := panicMessage(func() { schema.Define[int]("x", opt) })
	if want := `schema: Define("x"): WithCodec(nil)`; msg != want {
		t.Errorf("Define with WithCodec(nil) panic = %q; want %q", msg, want)
	}
}

// panicMessage calls f and returns what it panicked with, "" if nothing.
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
			if msg == "" {
				msg = "(empty panic)"
			}
		}
	}()
	f()
	return ""
}

// fuzzEvent has a field of most kinds JSON decodes into.
type fuzzEvent struct {
	S  string         `json:"s"`
	I  int64          `json:"i,omitempty"`
	U  uint8          `json:"u"`
	F  float64        `json:"f"`
	B  *bool          `json:"b"`
	L  []string       `json:"l"`
	M  map[string]int `json:"m"`
	A  [2]int         `json:"a"`
	N  *fuzzEvent     `json:"n,omitempty"`
	Q  int            `json:"q,string"`
	Ch []byte         `json:"ch"`
}

// FuzzDecode checks that Decode of arbitrary data either succeeds, and then
// the value survives another round trip, or fails with a *DecodeError that
// names the event and holds at most the first 64 bytes of the data.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"s":"x","i":1,"u":2,"f":1.5,"b":true,"l":["a"],"m":{"k":1},"a":[1,2],"n":{"s":"y"},"q":"7","ch":"AQI="}`,
		`{}`, `null`, ``, `{`, `[]`, `{"u":256}`, `{"q":7}`, `{"ch":"!"}`, `{"s":"\ud800"}`,
		`{"s":"` + strings.Repeat("é", 40) + `"`,
	} {
		f.Add([]byte(seed))
	}
	e := schema.Define[fuzzEvent]("fuzz")
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		v, err := e.Decode(data)
		if !bytes.Equal(data, orig) {
			t.Fatalf("Decode(%q) modified its input", orig)
		}
		if err != nil {
			var de *schema.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) error = %T %v; want *DecodeError", data, err, err)
			}
			if de.Event != "fuzz" || de.Len != len(data) || len(de.Data) > 64 ||
				!strings.HasPrefix(string(data), de.Data) || de.Err == nil {
				t.Fatalf("Decode(%q) error = %#v; want event fuzz, Len %d, a prefix of at most 64 bytes, a cause", data, de, len(data))
			}
			if !reflect.DeepEqual(v, fuzzEvent{}) {
				t.Fatalf("Decode(%q) = %#v with error; want the zero value", data, v)
			}
			return
		}
		enc, err := e.Encode(v)
		if err != nil {
			t.Fatalf("Encode(%#v) error: %v", v, err)
		}
		if bytes.ContainsAny(enc, "\r\n") {
			t.Fatalf("Encode(%#v) = %q; contains a line break", v, enc)
		}
		back, err := e.Decode(enc)
		if err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("Decode(Encode(%#v)) = %#v, %v; want the value back", v, back, err)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	e := schema.Define[price]("price.tick")
	v := price{Symbol: "ACME", Cents: 12345, Ratio: 0.25}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	e := schema.Define[price]("price.tick")
	data := []byte(`{"symbol":"ACME","cents":12345,"ratio":0.25}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
