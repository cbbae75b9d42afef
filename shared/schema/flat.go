package schema

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unsafe"
)

// FlatJSON returns a [Codec] for the struct type T that reads and writes
// exactly what [JSON] does, without encoding/json's reflection on every
// value. It works out T's fields once, here; encoding a T appends its
// fields in order, and decoding one parses the JSON and stores each field
// in place. In a WebAssembly page, where reflection is slow, decoding a
// small event with it is several times faster than with JSON, with no
// allocation beyond the strings and slices of the value.
//
// Use it for an event whose decoding shows in a profile:
//
//	var PriceTick = schema.Define[Price]("price.tick", schema.WithCodec(schema.FlatJSON[Price]()))
//
// Its output is byte for byte that of encoding/json's Marshal, and it
// decodes every input into the value encoding/json's Unmarshal gives, with
// the same error when there is one (it leaves what it cannot do fast, such
// as a key that matches a field only case-insensitively, and every error,
// to encoding/json). Its Name is "json", so the two are interchangeable:
// the [Registry.Fingerprint] is the same, and a server on one and a page
// on the other agree.
//
// T must be a struct whose fields, after encoding/json's rules (exported,
// not tagged "-"), are of these kinds, named or not: bool, the integers,
// float32 and float64, string, time.Time, and slices of those. Tags may
// give a name and omitempty or omitzero. FlatJSON panics, naming the
// field, for anything else: embedded fields, pointers, maps, arrays,
// interfaces, nested structs, []byte (base64 in JSON), the ",string"
// option, two fields with one JSON name, and fields of types with methods
// of their own for JSON or text (MarshalJSON, UnmarshalText, ...) other
// than time.Time's. Those events stay on [JSON].
func FlatJSON[T any]() Codec {
	c, err := newFlat[T]()
	if err != nil {
		panic(err.Error())
	}
	return c
}

// flatCodec is the Codec of FlatJSON for one T.
type flatCodec[T any] struct {
	fields []flatField
	byName map[string]int // JSON name → index in fields
	names  []string       // the JSON names, for case-insensitive matches
}

// flatField is one field of a flat struct.
type flatField struct {
	name    string  // JSON name
	key     string  // `"name":`, escaped as encoding/json escapes it
	off     uintptr // offset in the struct
	kind    flatKind
	elem    flatKind // of a slice's elements
	bits    int      // of an integer or float
	omit    omitRule
	goName  string
	typeStr string
	typ     reflect.Type // of a time.Time field, for timeAt
}

type flatKind uint8

const (
	kindBool flatKind = iota + 1
	kindInt
	kindUint
	kindFloat
	kindString
	kindTime
	kindSlice
)

// omitRule holds a field's omitempty and omitzero options.
type omitRule uint8

const (
	omitEmpty omitRule = 1 << iota
	omitZero
)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	isZeroer        = reflect.TypeFor[interface{ IsZero() bool }]()
)

// isTime reports whether t is time.Time. It compares names rather than
// reflect.TypeFor[time.Time](), which would make time.Time a type used in
// an interface and keep every method of time.Time that an interface could
// call (its formatting, parsing and JSON: about 40 KB of brotli) in every
// bundle that uses FlatJSON.
func isTime(t reflect.Type) bool { return t.PkgPath() == "time" && t.Name() == "Time" }

func newFlat[T any]() (*flatCodec[T], error) {
	t := reflect.TypeFor[T]()
	fail := func(format string, args ...any) (*flatCodec[T], error) {
		return nil, fmt.Errorf("schema: FlatJSON[%v]: "+format, append([]any{t}, args...)...)
	}
	if t.Kind() != reflect.Struct {
		return fail("not a struct")
	}
	if hasOwnJSON(t) {
		return fail("the type has JSON or text methods of its own; use JSON")
	}
	c := &flatCodec[T]{byName: make(map[string]int)}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return fail("field %s is embedded", sf.Name)
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !isValidTag(name) {
			name = sf.Name
		}
		f := flatField{name: name, off: sf.Offset, goName: sf.Name, typeStr: sf.Type.String()}
		if hasOption(opts, "string") {
			return fail("field %s has the string option", sf.Name)
		}
		if hasOption(opts, "omitempty") {
			f.omit |= omitEmpty
		}
		if hasOption(opts, "omitzero") {
			f.omit |= omitZero
		}
		ft := sf.Type
		if ft.Kind() == reflect.Slice {
			if ft.Elem().Kind() == reflect.Uint8 {
				return fail("field %s is a byte slice, which JSON encodes in base64", sf.Name)
			}
			if hasOwnJSON(ft) {
				return fail("field %s has JSON or text methods of its own", sf.Name)
			}
			f.kind = kindSlice
			ft = ft.Elem()
		}
		k, bits, ok := flatKindOf(ft)
		if !ok {
			return fail("field %s is a %v, which FlatJSON does not encode; use JSON", sf.Name, sf.Type)
		}
		if k == kindTime {
			f.typ = ft
		}
		if f.kind == kindSlice {
			if !sliceElem(k, bits) {
				return fail("field %s is a slice of %v; FlatJSON decodes slices of strings, bools, ints, int64s and float64s", sf.Name, ft)
			}
			f.elem = k
		} else {
			f.kind = k
		}
		f.bits = bits
		if f.omit&omitZero != 0 && !isTime(sf.Type) && (sf.Type.Implements(isZeroer) || reflect.PointerTo(sf.Type).Implements(isZeroer)) {
			return fail("field %s has an IsZero method, which omitzero would call", sf.Name)
		}
		if _, dup := c.byName[name]; dup {
			return fail("two fields are named %q in JSON", name)
		}
		f.key = string(appendString(nil, name)) + ":"
		c.byName[name] = len(c.fields)
		c.names = append(c.names, name)
		c.fields = append(c.fields, f)
	}
	return c, nil
}

// flatKindOf returns the kind of a field or slice element type, and the
// bits of a number.
func flatKindOf(t reflect.Type) (flatKind, int, bool) {
	if isTime(t) {
		return kindTime, 0, true
	}
	if hasOwnJSON(t) {
		return 0, 0, false
	}
	switch t.Kind() {
	case reflect.Bool:
		return kindBool, 0, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt, t.Bits(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return kindUint, t.Bits(), true
	case reflect.Float32, reflect.Float64:
		return kindFloat, t.Bits(), true
	case reflect.String:
		return kindString, 0, true
	}
	return 0, 0, false
}

// sliceElem reports whether flatDecoder.field decodes slices of k.
func sliceElem(k flatKind, bits int) bool {
	switch k {
	case kindString, kindBool:
		return true
	case kindInt:
		return bits == 64 || bits == 32 && strconv.IntSize == 32
	case kindFloat:
		return bits == 64
	}
	return false
}

// jsonTime is what FlatJSON asks of a time.Time field: the methods
// encoding/json and its omitzero call.
type jsonTime interface {
	UnmarshalJSON([]byte) error
	AppendText([]byte) ([]byte, error)
	IsZero() bool
}

// timeAt returns the time.Time of type t at p. It goes through reflection
// rather than calling time.Time's methods, so that a bundle whose events
// have no time links none of time's parsing and formatting (about 40 KB
// of brotli): a method that the program never calls directly is kept only
// for the types it may be called on, here those of the fields.
func timeAt(t reflect.Type, p unsafe.Pointer) jsonTime {
	return reflect.NewAt(t, p).Interface().(jsonTime)
}

// hasOwnJSON reports whether encoding/json would hand values of t to
// methods of their own rather than encode its structure.
func hasOwnJSON(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	for _, i := range [...]reflect.Type{jsonMarshaler, textMarshaler, jsonUnmarshaler, textUnmarshaler} {
		if t.Implements(i) || p.Implements(i) {
			return true
		}
	}
	return false
}

// isValidTag is encoding/json's rule for a usable name in a json tag.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// Name implements [Codec]: "json", the name of [JSON], whose wire format
// FlatJSON shares.
func (*flatCodec[T]) Name() string { return "json" }

// Marshal implements [Codec]. v is a T or a *T; for anything else, and
// for a value it cannot encode (a NaN, a time outside the years 0 to
// 9999), it returns what encoding/json's Marshal does.
func (c *flatCodec[T]) Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case T:
		return c.encodeValue(x)
	case *T:
		if x != nil {
			return c.encodeValue(*x)
		}
	}
	return json.Marshal(v)
}

// Unmarshal implements [Codec]. v must be a *T; for anything else it
// does what encoding/json's Unmarshal does.
func (c *flatCodec[T]) Unmarshal(data []byte, v any) error {
	p, ok := v.(*T)
	if !ok || p == nil {
		return json.Unmarshal(data, v)
	}
	return c.decodeInto(data, p)
}

// encodeValue is Marshal for a T, with no interface conversion.
func (c *flatCodec[T]) encodeValue(v T) ([]byte, error) {
	b, ok := c.appendStruct(make([]byte, 0, 64), unsafe.Pointer(&v))
	if !ok {
		return json.Marshal(v)
	}
	return b, nil
}

// decodeValue is Unmarshal into a new T, with no interface conversion.
func (c *flatCodec[T]) decodeValue(data []byte) (T, error) {
	var v T // stays on the stack: parse does not keep its pointer
	if c.parse(data, unsafe.Pointer(&v)) {
		return v, nil
	}
	return c.decodeSlow(data, v)
}

// decodeSlow leaves data to encoding/json, starting from v.
func (c *flatCodec[T]) decodeSlow(data []byte, v T) (T, error) {
	err := json.Unmarshal(data, &v)
	return v, err
}

func (c *flatCodec[T]) decodeInto(data []byte, p *T) error {
	if c.parse(data, unsafe.Pointer(p)) {
		return nil
	}
	// What the fast path does not do, and every error: encoding/json
	// decides. It overwrites every field the fast path stored, since each
	// of them is in data.
	return json.Unmarshal(data, p)
}

// typedCodec is what a codec made for one type offers [Event] beyond
// [Codec]: values passed as themselves, not boxed in an interface.
type typedCodec[T any] interface {
	encodeValue(v T) ([]byte, error)
	decodeValue(data []byte) (T, error)
}

var _ typedCodec[struct{}] = (*flatCodec[struct{}])(nil)
