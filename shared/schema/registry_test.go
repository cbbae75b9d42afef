package schema_test

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ssekit/ssekit/shared/schema"
)

var (
	priceTick   = schema.Define[price]("price.tick")
	orderFilled = schema.Define[order]("order.filled")
	chatLine    = schema.Define[string]("chat.line", schema.WithCodec(textCodec{}))
)

func TestRegistryLookup(t *testing.T) {
	t.Parallel()
	r, err := schema.NewRegistry(priceTick, orderFilled, chatLine)
	if err != nil {
		t.Fatalf("NewRegistry error: %v", err)
	}
	for _, want := range []schema.Definition{priceTick, orderFilled, chatLine} {
		got, ok := r.Lookup(want.Name())
		if !ok || got != want {
			t.Errorf("Lookup(%q) = %v, %v; want %v, true", want.Name(), got, ok, want)
		}
	}
	d, _ := r.Lookup("price.tick")
	if e, ok := d.(schema.Event[price]); !ok || e.Name() != "price.tick" {
		t.Errorf("Lookup(price.tick) = %T; want schema.Event[price]", d)
	}
	if got, ok := r.Lookup("nope"); ok || got != nil {
		t.Errorf("Lookup(nope) = %v, %v; want nil, false", got, ok)
	}
}

func TestRegistryNames(t *testing.T) {
	t.Parallel()
	r := schema.MustRegistry(priceTick, orderFilled, chatLine)
	want := []string{"chat.line", "order.filled", "price.tick"}
	got := r.Names()
	if !slices.Equal(got, want) {
		t.Errorf("Names() = %q; want %q", got, want)
	}
	got[0] = "changed" // the slice is the caller's
	if got := r.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() after the caller changed its slice = %q; want %q", got, want)
	}
	if got := new(schema.Registry).Names(); len(got) != 0 {
		t.Errorf("zero Registry Names() = %q; want none", got)
	}
}

func TestRegistryRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		defs []schema.Definition
		want string // substring of the error
	}{
		{"duplicate", []schema.Definition{priceTick, schema.Define[int]("price.tick")}, `"price.tick" registered twice`},
		{"same twice", []schema.Definition{priceTick, priceTick}, `"price.tick" registered twice`},
		{"nil", []schema.Definition{nil}, "nil definition"},
		{"zero event", []schema.Definition{schema.Event[int]{}}, "empty event name"},
		{"reserved", []schema.Definition{fakeDef{name: schema.HelloEvent, codec: schema.JSON{}, typ: reflect.TypeFor[int]()}}, "reserved prefix"},
		{"line break", []schema.Definition{fakeDef{name: "a\nb", codec: schema.JSON{}, typ: reflect.TypeFor[int]()}}, "CR, LF or NUL"},
		{"nil codec", []schema.Definition{fakeDef{name: "x", typ: reflect.TypeFor[int]()}}, `"x" has no codec`},
		{"nil type", []schema.Definition{fakeDef{name: "x", codec: schema.JSON{}}}, `"x" has no type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := schema.NewRegistry(tt.defs...)
			if err == nil || r != nil {
				t.Fatalf("NewRegistry(%v) = %v, %v; want nil and an error", tt.defs, r, err)
			}
			if !strings.HasPrefix(err.Error(), "schema: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRegistry(%v) error = %q; want a schema: error containing %q", tt.defs, err, tt.want)
			}
			msg := panicMessage(func() { schema.MustRegistry(tt.defs...) })
			if msg != err.Error() {
				t.Errorf("MustRegistry(%v) panic = %q; want %q", tt.defs, msg, err)
			}
		})
	}
}

// TestRegistryImmutable checks that nothing changes a registry once built:
// a server announces its fingerprint in every hello, and a definition added
// later would make every client report a false schema mismatch.
func TestRegistryImmutable(t *testing.T) {
	t.Parallel()
	defs := []schema.Definition{priceTick}
	r := schema.MustRegistry(defs...)
	before := r.Fingerprint()
	defs[0] = schema.Define[int]("other") // the caller's slice is not kept
	r.Names()[0] = "changed"              // nor is the one Names returns
	if got := r.Names(); len(got) != 1 || got[0] != "price.tick" || r.Fingerprint() != before {
		t.Fatalf("after changing the slices given and returned: Names() = %q, Fingerprint() = %s; want [price.tick], %s", got, r.Fingerprint(), before)
	}
	// Its methods only read.
	var methods []string
	rt := reflect.TypeFor[*schema.Registry]()
	for i := range rt.NumMethod() {
		methods = append(methods, rt.Method(i).Name)
	}
	if want := []string{"Fingerprint", "Lookup", "Names"}; !slices.Equal(methods, want) {
		t.Fatalf("*Registry has methods %q; want only %q, which read", methods, want)
	}
}

func TestRegistryConcurrent(t *testing.T) {
	t.Parallel()
	r := schema.MustRegistry(priceTick)
	want := r.Fingerprint()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			r.Lookup("price.tick")
			r.Names()
			if got := r.Fingerprint(); got != want {
				t.Errorf("Fingerprint() = %s; want %s", got, want)
			}
		})
	}
	wg.Wait()
}

// fakeDef is a Definition that is not an Event, to reach Register's checks.
type fakeDef struct {
	name  string
	codec schema.Codec
	typ   reflect.Type
}

func (d fakeDef) Name() string        { return d.name }
func (d fakeDef) Codec() schema.Codec { return d.codec }
func (d fakeDef) Type() reflect.Type  { return d.typ }
