package schema

import (
	"encoding"
	"encoding/json"
	"hash/fnv"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// fingerprintVersion prefixes every fingerprint and heads the canonical
// text. Change it whenever the canonical text or the hash changes for a
// given registry, so that old and new fingerprints can never be taken for
// one another. v1 hashed with SHA-256; v2 hashes with FNV-1a.
const fingerprintVersion = "v2"

// fingerprint returns "v2:" and the 128-bit FNV-1a hash of defs' canonical
// text, in hex. The fingerprint tells a stale bundle from a current one;
// it guards against accidents, not against an adversary, who controls
// neither side's definitions. FNV-1a is a few lines of hash/fnv, where a
// cryptographic hash would add about 40 KB (brotli) to every wasm bundle.
func fingerprint(defs map[string]Definition) string {
	h := fnv.New128a()
	h.Write([]byte(canonical(defs)))
	var sum [16]byte
	b := make([]byte, 0, len(fingerprintVersion)+1+2*len(sum))
	b = append(b, fingerprintVersion+":"...)
	for _, c := range h.Sum(sum[:0]) {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xF])
	}
	return string(b)
}

// canonical returns the text the fingerprint hashes: a header line, then one
// line per event in name order,
//
//	event "price.tick" codec "json" struct{Symbol "symbol" string; Cents "cents" int64}
func canonical(defs map[string]Definition) string {
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	slices.Sort(names)

	var w shapeWriter
	w.b.WriteString("ssekit/schema fingerprint " + fingerprintVersion + "\n")
	for _, name := range names {
		d := defs[name]
		w.b.WriteString("event ")
		w.b.WriteString(strconv.Quote(name))
		w.b.WriteString(" codec ")
		w.b.WriteString(strconv.Quote(d.Codec().Name()))
		w.b.WriteByte(' ')
		w.shape(d.Type())
		w.b.WriteByte('\n')
	}
	return w.b.String()
}

// A shapeWriter writes the shape of a Go type: what of it reaches the wire
// when encoding/json encodes it. The shape leaves out the names of Go types,
// which the wire never sees, and keeps everything that changes the JSON a
// value encodes to or the Go values it decodes from:
//
//   - basic kinds by kind name: "int" and "int64" differ (the values they
//     hold do), a named type (type Side string) is its underlying kind;
//   - "*" elem for pointers (null is a possible value), "[]" elem for slices,
//     "[N]" elem for arrays, "map[" key "]" elem for maps, "interface" for
//     any interface type (the dynamic value decides);
//   - struct{...}: the fields encoding/json encodes, in declaration order,
//     each as its Go name, its json tag name quoted ("" when untagged), the
//     options omitempty, omitzero and string (in that order, whatever their
//     order in the tag) and its shape. Unexported fields and fields tagged
//     "-" are left out, as encoding/json leaves them out. Embedded fields are
//     marked "embedded" and written with their shape; their promotion is
//     not worked out;
//   - opaque "pkg/path.Name" for a type whose encoding is its own business:
//     one that implements json.Marshaler or encoding.TextMarshaler (through
//     a pointer receiver too) and every named type of packages time and
//     encoding/json (time.Duration, json.Number);
//   - "^i" for a type already being walked, i levels up from the root (the
//     root is 0), so recursive types end.
//
// Everything is written from reflect data alone, with no map iteration, so
// the text is the same for every build and platform.
type shapeWriter struct {
	b     strings.Builder
	stack []reflect.Type // the types being walked, root first
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func (w *shapeWriter) shape(t reflect.Type) {
	if i := slices.Index(w.stack, t); i >= 0 {
		w.b.WriteByte('^')
		w.b.WriteString(strconv.Itoa(i))
		return
	}
	k := t.Kind()
	if k != reflect.Pointer && k != reflect.Interface && isOpaque(t) {
		w.b.WriteString("opaque ")
		w.b.WriteString(strconv.Quote(qualifiedName(t)))
		return
	}
	w.stack = append(w.stack, t)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	switch k {
	case reflect.Pointer:
		w.b.WriteByte('*')
		w.shape(t.Elem())
	case reflect.Slice:
		w.b.WriteString("[]")
		w.shape(t.Elem())
	case reflect.Array:
		w.b.WriteByte('[')
		w.b.WriteString(strconv.Itoa(t.Len()))
		w.b.WriteByte(']')
		w.shape(t.Elem())
	case reflect.Map:
		w.b.WriteString("map[")
		w.shape(t.Key())
		w.b.WriteByte(']')
		w.shape(t.Elem())
	case reflect.Interface:
		w.b.WriteString("interface")
	case reflect.Struct:
		w.structShape(t)
	default: // bool, numbers, string, and what JSON cannot encode (chan, func)
		w.b.WriteString(k.String())
	}
}

func (w *shapeWriter) structShape(t reflect.Type) {
	w.b.WriteString("struct{")
	first := true
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !encoded(f) {
			continue
		}
		if !first {
			w.b.WriteString("; ")
		}
		first = false
		if f.Anonymous {
			w.b.WriteString("embedded ")
		}
		name, opts, _ := strings.Cut(tag, ",")
		w.b.WriteString(f.Name)
		w.b.WriteByte(' ')
		w.b.WriteString(strconv.Quote(name))
		for _, opt := range [...]string{"omitempty", "omitzero", "string"} {
			if hasOption(opts, opt) {
				w.b.WriteByte(' ')
				w.b.WriteString(opt)
			}
		}
		w.b.WriteByte(' ')
		w.shape(f.Type)
	}
	w.b.WriteByte('}')
}

// encoded reports whether encoding/json looks at f at all: exported fields
// and embedded structs (or pointers to them), exported or not, whose
// exported fields it promotes.
func encoded(f reflect.StructField) bool {
	if f.IsExported() {
		return true
	}
	if !f.Anonymous {
		return false
	}
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct
}

func hasOption(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
	}
	return false
}

// isOpaque reports whether t encodes itself, so its structure says nothing
// about its wire form.
func isOpaque(t reflect.Type) bool {
	if t.Name() != "" {
		switch t.PkgPath() {
		case "time", "encoding/json":
			return true
		}
	}
	p := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		p.Implements(jsonMarshaler) || p.Implements(textMarshaler)
}

// qualifiedName names t by import path, "time.Time" or
// "example.com/shop.Money"; a type without a name (a struct literal type
// promoting a MarshalJSON method) by its Go syntax.
func qualifiedName(t reflect.Type) string {
	if t.Name() == "" {
		return t.String()
	}
	if t.PkgPath() == "" {
		return t.Name()
	}
	return t.PkgPath() + "." + t.Name()
}
