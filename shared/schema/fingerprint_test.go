package schema_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// fingerprint returns the fingerprint of a registry of defs.
func fingerprint(tb testing.TB, defs ...schema.Definition) string {
	tb.Helper()
	r, err := schema.NewRegistry(defs...)
	if err != nil {
		tb.Fatalf("NewRegistry error: %v", err)
	}
	return r.Fingerprint()
}

// The golden registry's types. Changing them changes goldenFingerprint.
type (
	goldenQuote struct {
		Symbol string    `json:"symbol"`
		Bid    int64     `json:"bid,omitempty"`
		At     time.Time `json:"at"`
		Venues []string  `json:"venues"`
		hidden int
	}
	goldenNode struct {
		Value int            `json:"value,string"`
		Next  *goldenNode    `json:"next"`
		Attrs map[string]any `json:"attrs,omitzero"`
		Skip  bool           `json:"-"`
	}
)

// goldenFingerprint is the fingerprint of the golden registry. If this test
// fails, the algorithm changed: every deployed client will report a
// mismatch. Bump fingerprintVersion when that is intended, then update this.
const goldenFingerprint = "v2:02c56b63f37d86a70e7070ef9bab17f0"

func TestFingerprintGolden(t *testing.T) {
	t.Parallel()
	got := fingerprint(t,
		schema.Define[goldenQuote]("quote"),
		schema.Define[goldenNode]("tree", schema.WithCodec(textCodec{})),
		schema.Define[[4]uint8]("bytes"),
	)
	if got != goldenFingerprint {
		t.Errorf("Fingerprint() = %s; want %s", got, goldenFingerprint)
	}
}

func TestFingerprintFormat(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^v2:[0-9a-f]{32}$`)
	for _, fp := range []string{fingerprint(t), fingerprint(t, priceTick), new(schema.Registry).Fingerprint()} {
		if !valid.MatchString(fp) {
			t.Errorf("Fingerprint() = %q; want %s", fp, valid)
		}
	}
	if fingerprint(t) == fingerprint(t, priceTick) {
		t.Errorf("empty registry and {price.tick} have one fingerprint")
	}
}

func TestFingerprintStable(t *testing.T) {
	t.Parallel()
	a := schema.MustRegistry(priceTick, orderFilled, chatLine)
	b := schema.MustRegistry(chatLine, priceTick, orderFilled)
	c := schema.MustRegistry(orderFilled, chatLine, priceTick)
	fa := a.Fingerprint()
	if fa2 := a.Fingerprint(); fa2 != fa {
		t.Errorf("Fingerprint() = %s then %s; want one value", fa, fa2)
	}
	if fb, fc := b.Fingerprint(), c.Fingerprint(); fb != fa || fc != fa {
		t.Errorf("Fingerprint() in three registration orders = %s, %s, %s; want one value", fa, fb, fc)
	}
}

func TestFingerprintChangesWithAnEvent(t *testing.T) {
	t.Parallel()
	before := schema.MustRegistry(priceTick).Fingerprint()
	if after := schema.MustRegistry(priceTick, orderFilled).Fingerprint(); after == before {
		t.Errorf("Fingerprint() = %s with one more event; want a change", after)
	}
}

// Pairs of types that encode alike.
type (
	quoteA struct {
		Symbol string `json:"symbol"`
		Cents  int64  `json:"cents"`
	}
	quoteB struct {
		Symbol string `json:"symbol"`
		Cents  int64  `json:"cents"`
	}
	side      string
	withSide  struct{ S side }
	withPlain struct{ S string }
	node      struct {
		Next *node
		Kids []node
	}
	otherNode struct {
		Next *otherNode
		Kids []otherNode
	}
	base          struct{ ID string }
	withEmbedded  struct{ base }
	withNamedBase struct{ B base }
	money         struct{ units int64 }
	otherMoney    struct{ units int64 }
	// list recurses through a slice, pair through a map: walks must end.
	list []list
	pair map[string]*pair
)

func (m money) MarshalJSON() ([]byte, error)      { return json.Marshal(m.units) }
func (m otherMoney) MarshalJSON() ([]byte, error) { return json.Marshal(m.units) }

func TestFingerprintDiffers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b schema.Definition
	}{
		{"field renamed", schema.Define[struct{ A int }]("e"), schema.Define[struct{ B int }]("e")},
		{"json tag changed", schema.Define[struct {
			A int `json:"a"`
		}]("e"), schema.Define[struct {
			A int `json:"b"`
		}]("e")},
		{"json tag added", schema.Define[struct{ A int }]("e"), schema.Define[struct {
			A int `json:"A"`
		}]("e")},
		{"int to int64", schema.Define[struct{ A int }]("e"), schema.Define[struct{ A int64 }]("e")},
		{"string to []byte", schema.Define[struct{ A string }]("e"), schema.Define[struct{ A []byte }]("e")},
		{"field added", schema.Define[struct{ A int }]("e"), schema.Define[struct{ A, B int }]("e")},
		{"field removed", schema.Define[struct{ A, B int }]("e"), schema.Define[struct{ B int }]("e")},
		{"fields reordered", schema.Define[struct {
			A int
			B string
		}]("e"), schema.Define[struct {
			B string
			A int
		}]("e")},
		{"omitempty added", schema.Define[struct {
			A int `json:"a"`
		}]("e"), schema.Define[struct {
			A int `json:"a,omitempty"`
		}]("e")},
		{"omitzero added", schema.Define[struct {
			A int `json:"a"`
		}]("e"), schema.Define[struct {
			A int `json:"a,omitzero"`
		}]("e")},
		{"string option added", schema.Define[struct {
			A int `json:"a"`
		}]("e"), schema.Define[struct {
			A int `json:"a,string"`
		}]("e")},
		{"nested field changed", schema.Define[struct{ In struct{ A int } }]("e"), schema.Define[struct{ In struct{ A uint } }]("e")},
		{"nested in slice changed", schema.Define[[]quoteA]("e"), schema.Define[[]struct{ Symbol string }]("e")},
		{"pointer vs value", schema.Define[struct{ A *int }]("e"), schema.Define[struct{ A int }]("e")},
		{"pointer event", schema.Define[*quoteA]("e"), schema.Define[quoteA]("e")},
		{"map key type", schema.Define[map[string]int]("e"), schema.Define[map[int]int]("e")},
		{"map elem type", schema.Define[map[string]int]("e"), schema.Define[map[string]string]("e")},
		{"array length", schema.Define[[2]int]("e"), schema.Define[[3]int]("e")},
		{"array vs slice", schema.Define[[2]int]("e"), schema.Define[[]int]("e")},
		{"event name", schema.Define[quoteA]("e"), schema.Define[quoteA]("f")},
		{"codec", schema.Define[string]("e"), schema.Define[string]("e", schema.WithCodec(textCodec{}))},
		{"time vs string", schema.Define[struct{ T time.Time }]("e"), schema.Define[struct{ T string }]("e")},
		{"duration vs int64", schema.Define[time.Duration]("e"), schema.Define[int64]("e")},
		{"marshaler vs struct", schema.Define[money]("e"), schema.Define[struct{ units int64 }]("e")},
		{"marshaler renamed", schema.Define[money]("e"), schema.Define[otherMoney]("e")},
		{"embedded vs named", schema.Define[withEmbedded]("e"), schema.Define[withNamedBase]("e")},
		{"recursive vs flat", schema.Define[node]("e"), schema.Define[struct {
			Next *quoteA
			Kids []quoteA
		}]("e")},
		{"interface vs string", schema.Define[any]("e"), schema.Define[string]("e")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if fa, fb := fingerprint(t, tt.a), fingerprint(t, tt.b); fa == fb {
				t.Errorf("Fingerprint of %s %v = Fingerprint of %s %v = %s; want them to differ",
					tt.a.Name(), tt.a.Type(), tt.b.Name(), tt.b.Type(), fa)
			}
		})
	}
}

func TestFingerprintEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b schema.Definition
	}{
		{"struct type renamed", schema.Define[quoteA]("e"), schema.Define[quoteB]("e")},
		{"same type defined twice", schema.Define[quoteA]("e"), schema.Define[quoteA]("e")},
		{"named vs literal struct", schema.Define[quoteA]("e"), schema.Define[struct {
			Symbol string `json:"symbol"`
			Cents  int64  `json:"cents"`
		}]("e")},
		{"named string type", schema.Define[withSide]("e"), schema.Define[withPlain]("e")},
		{"recursive type renamed", schema.Define[node]("e"), schema.Define[otherNode]("e")},
		{"unexported field added", schema.Define[struct{ A int }]("e"), schema.Define[struct {
			A int
			b int
		}]("e")},
		{"field tagged - added", schema.Define[struct{ A int }]("e"), schema.Define[struct {
			A int
			B int `json:"-"`
		}]("e")},
		{"tag options reordered", schema.Define[struct {
			A int `json:"a,omitempty,string"`
		}]("e"), schema.Define[struct {
			A int `json:"a,string,omitempty"`
		}]("e")},
		{"unknown tag option", schema.Define[struct {
			A int `json:"a"`
		}]("e"), schema.Define[struct {
			A int `json:"a,whatever"`
		}]("e")},
		{"other struct tags", schema.Define[struct {
			A int `json:"a"`
		}]("e"), schema.Define[struct {
			A int `json:"a" db:"a_col"`
		}]("e")},
		{"same codec, other value", schema.Define[string]("e", schema.WithCodec(textCodec{})), schema.Define[string]("e", schema.WithCodec(textCodec{}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if fa, fb := fingerprint(t, tt.a), fingerprint(t, tt.b); fa != fb {
				t.Errorf("Fingerprint of %v = %s, of %v = %s; want them equal", tt.a.Type(), fa, tt.b.Type(), fb)
			}
		})
	}
}

func TestFingerprintRecursiveTypes(t *testing.T) {
	t.Parallel()
	// Each must terminate; the test times out otherwise.
	for _, d := range []schema.Definition{
		schema.Define[node]("node"),
		schema.Define[*node]("node.ptr"),
		schema.Define[[]node]("nodes"),
		schema.Define[list]("list"),
		schema.Define[pair]("pair"),
		schema.Define[goldenNode]("golden"),
	} {
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel()
			if fp := fingerprint(t, d); !strings.HasPrefix(fp, "v2:") {
				t.Errorf("Fingerprint() = %q; want v2:...", fp)
			}
		})
	}
}
