package schema_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

type flatSide string

// every has a field of every kind FlatJSON takes.
type every struct {
	B     bool
	I     int      `json:"i"`
	I8    int8     `json:"i8"`
	I16   int16    `json:"i16,omitempty"`
	I32   int32    `json:"i32"`
	I64   int64    `json:"i64,omitzero"`
	U     uint     `json:"u"`
	U8    uint8    `json:"u8"`
	U16   uint16   `json:"u16"`
	U32   uint32   `json:"u32"`
	U64   uint64   `json:"u64"`
	Ptr   uintptr  `json:"ptr"`
	F32   float32  `json:"f32"`
	F64   float64  `json:"f64,omitempty"`
	FZ    float64  `json:"fz,omitzero"`
	S     string   `json:"s"`
	Side  flatSide `json:"flatSide,omitempty"`
	T     time.Time
	TZ    time.Time  `json:"tz,omitzero"`
	Tags  []string   `json:"tags"`
	Sides []flatSide `json:"sides,omitempty"`
	Ints  []int      `json:"ints,omitzero"`
	Both  []string   `json:"both,omitempty,omitzero"`
	I64s  []int64    `json:"i64s"`
	Fs    []float64  `json:"fs"`
	Bs    []bool     `json:"bs"`
	Odd   string     `json:"<&>"`
	Bad   int        `json:"a\"b"` // not a valid tag name: the Go name is used
	Skip  int        `json:"-"`
	Dash  int        `json:"-,"`
	priv  int
}

var everyCodec = schema.FlatJSON[every]()

func sampleEvery() every {
	return every{
		B: true, I: -1, I8: -128, I16: 300, I32: -1 << 31, I64: 1 << 62,
		U: 7, U8: 255, U16: 65535, U32: 1 << 31, U64: math.MaxUint64, Ptr: 12,
		F32: 1.5e-7, F64: 123.456, FZ: math.Copysign(0, -1),
		S:    "a \"quoted\" \\ line\n\ttab <b>&amp; \u2028 é \x01 \x7f",
		Side: "buy", T: time.Date(2026, 12, 1, 10, 30, 0, 123456789, time.FixedZone("", 3600)),
		Tags: []string{"x", "", "ü"}, Sides: []flatSide{"sell"}, Ints: []int{}, I64s: nil,
		Fs: []float64{1e21, 1e-7, -0.5, 100}, Bs: []bool{false, true},
		Odd: "o", Bad: 3, Skip: 9, Dash: 4, priv: 5,
	}
}

// TestFlatJSONMarshal checks that FlatJSON writes what encoding/json
// writes, byte for byte.
func TestFlatJSONMarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    every
	}{
		{"zero", every{}},
		{"sample", sampleEvery()},
		{"invalid UTF-8", every{S: "a\xffb\xe2\x82", Tags: []string{"\xc0"}}},
		{"floats", every{F32: 3.4e38, F64: 5e-324, Fs: []float64{1e20, 1e-6, 123456789e-15}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []any{tt.v, &tt.v} {
				got, err := everyCodec.Marshal(v)
				if err != nil || string(got) != string(want) {
					t.Errorf("Marshal(%T) = %s, %v;\nwant %s", v, got, err, want)
				}
			}
		})
	}
}

// TestFlatJSONMarshalErrors checks that what encoding/json refuses,
// FlatJSON refuses with encoding/json's error.
func TestFlatJSONMarshalErrors(t *testing.T) {
	t.Parallel()
	for _, v := range []every{
		{F64: math.NaN()},
		{Fs: []float64{math.Inf(1)}},
		{T: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		_, want := json.Marshal(v)
		_, got := everyCodec.Marshal(v)
		if got == nil || want == nil || got.Error() != want.Error() {
			t.Errorf("Marshal(%+v) error = %v; want %v", v, got, want)
		}
	}
}

// decodeCases are inputs for the decoder, valid and not, seeded into the
// fuzz target too.
var decodeCases = []string{
	`{}`,
	`null`,
	` {"i":1} `,
	`{"B":true,"i":-9223372036854775808,"i8":127,"u64":18446744073709551615,"f32":3.5,"f64":-0.0,"s":"x"}`,
	`{"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \ud800 \udc00x \u0000"}`,
	`{"s":"raw é ` + "\xff" + ` bad"}`,
	`{"tags":["a","b"],"sides":[],"ints":null,"i64s":[1,-2],"fs":[1.5e3,-0],"bs":[true,null,false]}`,
	`{"tags":[null,"x",null]}`,
	`{"T":"2026-12-01T10:30:00.123456789+01:00","tz":null}`,
	`{"T":"2026-12-01 10:30:00"}`,
	`{"T":12}`,
	`{"unknown":{"a":[1,{"b":null}],"c":"d"},"s":"after"}`,
	`{"S":"case-insensitive"}`,
	`{"s":"dup","s":"last"}`,
	`{"<&>":"odd","Bad":3,"Skip":1,"-":2}`,
	`{"i8":128}`,
	`{"u8":-1}`,
	`{"i":1.5}`,
	`{"i":1e2}`,
	`{"u":01}`,
	`{"f64":1e400}`,
	`{"f32":1e39}`,
	`{"s":1}`,
	`{"B":"true"}`,
	`{"tags":"x"}`,
	`{"s":"tab	raw"}`,
	`{"s":"\x"}`,
	`{"s":"\u12"}`,
	`{"i":1,}`,
	`{"i":1`,
	`{"i" 1}`,
	`{"i":1} x`,
	`[1]`,
	`"s"`,
	`{"é":1}`,
	`{"tags":[1]}`,
	`{"ints":[1,2,3]}`,
	``,
	`{"i":-}`,
	`{"f64":.5}`,
	`{"f64":1.}`,
	`{"f64":1e}`,
	`{"u64":18446744073709551616}`,
	`{"i64":-9223372036854775809}`,
}

// TestFlatJSONUnmarshal checks that FlatJSON decodes every case into what
// encoding/json decodes, with encoding/json's error.
func TestFlatJSONUnmarshal(t *testing.T) {
	t.Parallel()
	for _, in := range decodeCases {
		checkUnmarshal(t, []byte(in))
	}
}

func checkUnmarshal(t *testing.T, data []byte) {
	t.Helper()
	for _, start := range []func() every{func() every { return every{} }, sampleEvery} {
		want, got := start(), start()
		wantErr := json.Unmarshal(data, &want)
		gotErr := everyCodec.Unmarshal(data, &got)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("Unmarshal(%q) error = %v; want %v", data, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Unmarshal(%q) =\n%+v\nwant\n%+v", data, got, want)
		}
	}
}

func FuzzFlatJSONUnmarshal(f *testing.F) {
	for _, in := range decodeCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkUnmarshal(t, data)
	})
}

func FuzzFlatJSONMarshal(f *testing.F) {
	f.Add("s", "t", int64(1), uint64(2), 1.5, float32(2.5), true)
	f.Add("<\u2028\xff", "\x00", int64(-1<<63), uint64(1<<63), 1e-7, float32(1e21), false)
	f.Fuzz(func(t *testing.T, s, tag string, i int64, u uint64, fl float64, f32 float32, b bool) {
		v := every{B: b, I: int(i), I8: int8(i), I16: int16(i), I32: int32(i), I64: i, U: uint(u), U8: uint8(u), U16: uint16(u), U32: uint32(u), U64: u,
			F32: f32, F64: fl, FZ: fl, S: s, Side: flatSide(tag), T: time.Unix(i%1e10, int64(u%1e9)).UTC(), Tags: []string{s, tag}, Ints: []int{int(i)}, Fs: []float64{fl}}
		want, wantErr := json.Marshal(v)
		got, gotErr := everyCodec.Marshal(v)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() || string(got) != string(want) {
			t.Fatalf("Marshal(%+v) = %s, %v; want %s, %v", v, got, gotErr, want, wantErr)
		}
		if wantErr == nil {
			checkUnmarshal(t, want)
		}
	})
}

// TestFlatJSONName checks that FlatJSON is interchangeable with JSON: the
// same name, and so the same fingerprint.
func TestFlatJSONName(t *testing.T) {
	t.Parallel()
	if got := everyCodec.Name(); got != "json" {
		t.Errorf("Name() = %q; want json", got)
	}
	a := schema.MustRegistry(schema.Define[every]("e"))
	b := schema.MustRegistry(schema.Define[every]("e", schema.WithCodec(everyCodec)))
	if a.Fingerprint() != b.Fingerprint() {
		t.Errorf("fingerprints differ: JSON %s, FlatJSON %s", a.Fingerprint(), b.Fingerprint())
	}
}

// TestFlatJSONOther checks that values other than a T go to encoding/json.
func TestFlatJSONOther(t *testing.T) {
	t.Parallel()
	got, err := everyCodec.Marshal(map[string]int{"a": 1})
	if err != nil || string(got) != `{"a":1}` {
		t.Errorf("Marshal(map) = %s, %v", got, err)
	}
	var m map[string]int
	if err := everyCodec.Unmarshal([]byte(`{"a":1}`), &m); err != nil || m["a"] != 1 {
		t.Errorf("Unmarshal(map) = %v, %v", m, err)
	}
	if got, err := everyCodec.Marshal((*every)(nil)); err != nil || string(got) != "null" {
		t.Errorf("Marshal(nil *every) = %s, %v", got, err)
	}
}

type (
	withTime  struct{ time.Time }
	withPtr   struct{ P *int }
	withMap   struct{ M map[string]int }
	withBytes struct{ B []byte }
	withInner struct{ In struct{ X int } }
	withDup   struct {
		A int `json:"X"`
		X int `json:",omitempty"`
	}
	withString struct {
		N int `json:"n,string"`
	}
	withInt16s struct{ S []int16 }
	textual    string
	withText   struct{ T textual }
)

func (textual) MarshalText() ([]byte, error) { return nil, nil }

// TestFlatJSONRefuses checks that FlatJSON panics, naming the problem, for
// the types it does not encode.
func TestFlatJSONRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func() schema.Codec
		want string
	}{
		{"not a struct", schema.FlatJSON[int], "not a struct"},
		{"embedded", schema.FlatJSON[withTime], "JSON or text methods"},
		{"pointer", schema.FlatJSON[withPtr], "field P is a *int"},
		{"map", schema.FlatJSON[withMap], "field M is a map[string]int"},
		{"bytes", schema.FlatJSON[withBytes], "byte slice"},
		{"nested", schema.FlatJSON[withInner], "field In is a struct"},
		{"duplicate", schema.FlatJSON[withDup], `two fields are named "X"`},
		{"string option", schema.FlatJSON[withString], "string option"},
		{"int16 slice", schema.FlatJSON[withInt16s], "slice of int16"},
		{"text marshaler", schema.FlatJSON[withText], "field T is a schema_test.textual"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "schema: FlatJSON[") || !strings.Contains(msg, tt.want) {
					t.Errorf("FlatJSON panic = %q; want one containing %q", msg, tt.want)
				}
			}()
			tt.make()
		})
	}
}

// TestDecodeString checks that DecodeString decodes as Decode does, with
// the typed path of FlatJSON and the copy for other codecs.
func TestDecodeString(t *testing.T) {
	t.Parallel()
	flat := schema.Define[every]("e", schema.WithCodec(everyCodec))
	plain := schema.Define[every]("e")
	data, err := json.Marshal(sampleEvery())
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []schema.Event[every]{flat, plain} {
		want, err := ev.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.DecodeString(string(data))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeString = %+v, %v; want %+v", got, err, want)
		}
		if _, err := ev.DecodeString(`{"i":"x"}`); err == nil {
			t.Errorf("DecodeString(bad) succeeded")
		} else if de, ok := err.(*schema.DecodeError); !ok || de.Event != "e" {
			t.Errorf("DecodeString(bad) error = %#v; want a *schema.DecodeError", err)
		}
	}
}
