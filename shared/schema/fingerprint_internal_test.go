package schema

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// These tests pin the canonical text that Fingerprint hashes, so a failing
// fingerprint test can be read here in clear.

type (
	shapeNode struct {
		Next *shapeNode
		Kids []shapeNode
	}
	shapeBase  struct{ ID string }
	shapeInner struct{ X int }
	shapeSide  string
	shapeText  struct{}
	shapeAll   struct {
		Plain   string
		Tagged  int64 `json:"tagged,string,omitempty"`
		Zero    bool  `json:"zero,omitzero"`
		Dash    int   `json:"-,"`
		Skipped int   `json:"-"`
		hidden  int
		shapeBase
		*shapeInner `json:"inner"`
		Side        shapeSide
		When        time.Time
		Every       time.Duration
		Num         json.Number
		Raw         json.RawMessage
		Key         map[shapeText][2]*float32
		Any         any
		Err         error
		Fn          func()
	}
)

func (shapeText) MarshalText() ([]byte, error) { return nil, nil }

func TestShapeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[int](), "int"},
		{reflect.TypeFor[[]byte](), "[]uint8"},
		{reflect.TypeFor[shapeSide](), "string"},
		{reflect.TypeFor[*shapeNode](), `*struct{Next "" ^0; Kids "" []^1}`},
		{reflect.TypeFor[shapeNode](), `struct{Next "" *^0; Kids "" []^0}`},
		{reflect.TypeFor[map[string]shapeNode](), `map[string]struct{Next "" *^1; Kids "" []^1}`},
		{reflect.TypeFor[shapeAll](), `struct{` +
			`Plain "" string; ` +
			`Tagged "tagged" omitempty string int64; ` +
			`Zero "zero" omitzero bool; ` +
			`Dash "-" int; ` +
			`embedded shapeBase "" struct{ID "" string}; ` +
			`embedded shapeInner "inner" *struct{X "" int}; ` +
			`Side "" string; ` +
			`When "" opaque "time.Time"; ` +
			`Every "" opaque "time.Duration"; ` +
			`Num "" opaque "encoding/json.Number"; ` +
			`Raw "" opaque "encoding/json.RawMessage"; ` +
			`Key "" map[opaque "github.com/ssekit/ssekit/shared/schema.shapeText"][2]*float32; ` +
			`Any "" interface; ` +
			`Err "" interface; ` +
			`Fn "" func}`},
		{reflect.TypeFor[struct{ time.Time }](), `opaque "struct { time.Time }"`},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			t.Parallel()
			var w shapeWriter
			w.shape(tt.typ)
			if got := w.b.String(); got != tt.want {
				t.Errorf("shape(%v) =\n%s\nwant\n%s", tt.typ, got, tt.want)
			}
		})
	}
}

type textCodec struct{}

func (textCodec) Name() string                { return "text" }
func (textCodec) Marshal(any) ([]byte, error) { return nil, nil }
func (textCodec) Unmarshal([]byte, any) error { return nil }

func TestCanonicalText(t *testing.T) {
	t.Parallel()
	defs := map[string]Definition{
		"b": Define[shapeSide]("b", WithCodec(textCodec{})),
		"a": Define[[]shapeBase]("a"),
		"é": Define[*int]("é"),
	}
	want := "ssekit/schema fingerprint v2\n" +
		`event "a" codec "json" []struct{ID "" string}` + "\n" +
		`event "b" codec "text" string` + "\n" +
		`event "é" codec "json" *int` + "\n"
	if got := canonical(defs); got != want {
		t.Errorf("canonical =\n%s\nwant\n%s", got, want)
	}
	if got := canonical(nil); got != "ssekit/schema fingerprint v2\n" {
		t.Errorf("canonical(nil) = %q", got)
	}
}
