package schema

import (
	"bytes"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxSkipDepth bounds the nesting of the unknown values the fast path
// skips; deeper ones are left to encoding/json, which has its own bound.
const maxSkipDepth = 64

// flatDecoder reads one JSON text. Every method returns false for what the
// fast path does not handle, which includes every syntax and type error:
// the caller then leaves the whole text to encoding/json.
type flatDecoder struct {
	data []byte
	i    int
}

// parse decodes data into the struct at p, and reports whether it did all
// of it.
func (c *flatCodec[T]) parse(data []byte, p unsafe.Pointer) bool {
	d := flatDecoder{data: data}
	d.space()
	if d.literal("null") { // leaves the value as it is, as encoding/json does
		d.space()
		return d.i == len(d.data)
	}
	if !d.next('{') {
		return false
	}
	d.space()
	if !d.next('}') {
		expect := 0 // encoding/json writes the fields in order: try the next one first
		for {
			key, ok := d.key()
			if !ok {
				return false
			}
			d.space()
			if !d.next(':') {
				return false
			}
			d.space()
			f := c.field(key, expect)
			switch {
			case f >= 0:
				if !d.field(&c.fields[f], unsafe.Add(p, c.fields[f].off)) {
					return false
				}
				expect = f + 1
			case c.folds(key):
				return false // encoding/json matches it case-insensitively
			default:
				if !d.skip(0) {
					return false
				}
			}
			d.space()
			if d.next(',') {
				d.space()
				continue
			}
			if d.next('}') {
				break
			}
			return false
		}
	}
	d.space()
	return d.i == len(d.data)
}

// field returns the index of the field named key, trying expect first, or
// -1.
func (c *flatCodec[T]) field(key []byte, expect int) int {
	if expect < len(c.fields) && c.fields[expect].name == string(key) {
		return expect
	}
	for i := range c.fields {
		if c.fields[i].name == string(key) {
			return i
		}
	}
	return -1
}

// folds reports whether key matches a field's name case-insensitively, as
// encoding/json matches keys that match no name exactly.
func (c *flatCodec[T]) folds(key []byte) bool {
	for _, name := range c.names {
		if bytes.EqualFold(key, []byte(name)) {
			return true
		}
	}
	return false
}

func (d *flatDecoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next consumes b if it comes next.
func (d *flatDecoder) next(b byte) bool {
	if d.i < len(d.data) && d.data[d.i] == b {
		d.i++
		return true
	}
	return false
}

func (d *flatDecoder) peek() byte {
	if d.i < len(d.data) {
		return d.data[d.i]
	}
	return 0
}

// literal consumes lit (null, true, false) if it comes next.
func (d *flatDecoder) literal(lit string) bool {
	if len(d.data)-d.i >= len(lit) && string(d.data[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// key returns an object key that needs no unquoting: printable ASCII with
// no escape.
func (d *flatDecoder) key() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return d.data[start : d.i-1], true
		case c == '\\' || c < ' ' || c >= utf8.RuneSelf:
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// field decodes the value of f into the field at p.
func (d *flatDecoder) field(f *flatField, p unsafe.Pointer) bool {
	switch f.kind {
	case kindTime:
		if d.literal("null") { // time.Time's UnmarshalJSON does nothing with it
			return true
		}
		// encoding/json hands the raw string to time.Time's UnmarshalJSON.
		start := d.i
		if !d.skipString() {
			return false
		}
		return timeAt(f.typ, p).UnmarshalJSON(d.data[start:d.i]) == nil
	case kindSlice:
	default:
		return d.value(f.kind, f.bits, p)
	}
	switch f.elem {
	case kindString:
		return parseSlice[string](d, f, p)
	case kindBool:
		return parseSlice[bool](d, f, p)
	case kindInt:
		if f.bits == 64 {
			return parseSlice[int64](d, f, p)
		}
		return parseSlice[int32](d, f, p)
	case kindFloat:
		return parseSlice[float64](d, f, p)
	}
	return false
}

// parseSlice decodes a JSON array into the []E at p as encoding/json does:
// elements decode into the slice's existing elements, the slice grows as
// needed and ends as long as the array, and an empty array gives an empty,
// non-nil slice. null gives nil.
func parseSlice[E any](d *flatDecoder, f *flatField, p unsafe.Pointer) bool {
	s := (*[]E)(p)
	if d.literal("null") {
		*s = nil
		return true
	}
	if !d.next('[') {
		return false
	}
	d.space()
	v := *s
	i := 0
	if !d.next(']') {
		for {
			if i >= len(v) {
				if i >= cap(v) {
					v = slices.Grow(v, 1)
				}
				v = v[:i+1]
			}
			if !d.value(f.elem, f.bits, unsafe.Pointer(&v[i])) {
				*s = v
				return false
			}
			i++
			d.space()
			if d.next(',') {
				d.space()
				continue
			}
			if d.next(']') {
				break
			}
			*s = v
			return false
		}
	}
	if i == 0 {
		v = make([]E, 0)
	}
	*s = v[:i]
	return true
}

// value decodes one scalar of kind k into p. null leaves it as it is.
func (d *flatDecoder) value(k flatKind, bits int, p unsafe.Pointer) bool {
	if d.peek() == 'n' {
		return d.literal("null")
	}
	switch k {
	case kindBool:
		switch {
		case d.literal("true"):
			*(*bool)(p) = true
		case d.literal("false"):
			*(*bool)(p) = false
		default:
			return false
		}
		return true
	case kindString:
		s, ok := d.string()
		if ok {
			*(*string)(p) = s
		}
		return ok
	case kindInt:
		n, ok := d.int(bits)
		if !ok {
			return false
		}
		switch bits {
		case 8:
			*(*int8)(p) = int8(n)
		case 16:
			*(*int16)(p) = int16(n)
		case 32:
			*(*int32)(p) = int32(n)
		default:
			*(*int64)(p) = n
		}
		return true
	case kindUint:
		n, ok := d.uint(bits)
		if !ok {
			return false
		}
		switch bits {
		case 8:
			*(*uint8)(p) = uint8(n)
		case 16:
			*(*uint16)(p) = uint16(n)
		case 32:
			*(*uint32)(p) = uint32(n)
		default:
			*(*uint64)(p) = n
		}
		return true
	case kindFloat:
		tok, ok := d.number()
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(tok), len(tok)), bits)
		if err != nil {
			return false
		}
		if bits == 32 {
			*(*float32)(p) = float32(f)
		} else {
			*(*float64)(p) = f
		}
		return true
	}
	return false
}

// number consumes a number by the JSON grammar and returns it.
func (d *flatDecoder) number() ([]byte, bool) {
	start := d.i
	d.next('-')
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return nil, false
	}
	if d.next('.') && !d.digits() {
		return nil, false
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !d.digits() {
			return nil, false
		}
	}
	return d.data[start:d.i], true
}

// digits consumes one or more digits.
func (d *flatDecoder) digits() bool {
	start := d.i
	for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// int parses an integer that fits in bits, as strconv.ParseInt does.
func (d *flatDecoder) int(bits int) (int64, bool) {
	tok, ok := d.number()
	if !ok {
		return 0, false
	}
	digits := tok
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	var n int64
	if len(digits) <= 18 { // cannot overflow
		for _, c := range digits {
			if c < '0' || c > '9' {
				return 0, false // a fraction or an exponent
			}
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
	} else {
		var err error
		if n, err = strconv.ParseInt(string(tok), 10, 64); err != nil {
			return 0, false
		}
	}
	if bits < 64 && (n < -1<<(bits-1) || n >= 1<<(bits-1)) {
		return 0, false
	}
	return n, true
}

// uint parses an unsigned integer that fits in bits.
func (d *flatDecoder) uint(bits int) (uint64, bool) {
	tok, ok := d.number()
	if !ok || tok[0] == '-' {
		return 0, false
	}
	var n uint64
	if len(tok) <= 19 {
		for _, c := range tok {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + uint64(c-'0')
		}
	} else {
		var err error
		if n, err = strconv.ParseUint(string(tok), 10, 64); err != nil {
			return 0, false
		}
	}
	if bits < 64 && n >= 1<<bits {
		return 0, false
	}
	return n, true
}

// string consumes a JSON string and returns its value as encoding/json
// does: escapes decoded, invalid UTF-8 and lone surrogates replaced with
// U+FFFD. The value is a copy.
func (d *flatDecoder) string() (string, bool) {
	if d.peek() != '"' {
		return "", false
	}
	start := d.i + 1
	escaped, ascii := false, true
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			if !escaped && (ascii || utf8.Valid(d.data[start:i])) {
				d.i = i + 1
				return string(d.data[start:i]), true
			}
			if !d.skipString() {
				return "", false
			}
			return unquote(d.data[start : d.i-1]), true
		case c == '\\':
			escaped = true
			i++ // an escaped quote does not end the string
		case c >= utf8.RuneSelf:
			ascii = false
		case c < ' ':
			return "", false
		}
	}
	return "", false
}

// skipString consumes a string, checking its escapes as encoding/json's
// scanner does.
func (d *flatDecoder) skipString() bool {
	if !d.next('"') {
		return false
	}
	for d.i < len(d.data) {
		c := d.data[d.i]
		d.i++
		switch {
		case c == '"':
			return true
		case c < ' ':
			return false
		case c == '\\':
			if d.i >= len(d.data) {
				return false
			}
			e := d.data[d.i]
			d.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(d.data)-d.i < 4 || hex4(d.data[d.i:]) < 0 {
					return false
				}
				d.i += 4
			default:
				return false
			}
		}
	}
	return false
}

// skip consumes any JSON value.
func (d *flatDecoder) skip(depth int) bool {
	switch d.peek() {
	case '"':
		return d.skipString()
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	case '{', '[':
		if depth >= maxSkipDepth {
			return false
		}
		closing := byte('}')
		if d.data[d.i] == '[' {
			closing = ']'
		}
		d.i++
		d.space()
		if d.next(closing) {
			return true
		}
		for {
			if closing == '}' {
				if !d.skipString() {
					return false
				}
				d.space()
				if !d.next(':') {
					return false
				}
				d.space()
			}
			if !d.skip(depth + 1) {
				return false
			}
			d.space()
			if d.next(',') {
				d.space()
				continue
			}
			return d.next(closing)
		}
	}
	_, ok := d.number()
	return ok
}

// hex4 returns the value of 4 hex digits, or -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unquote returns the value of the contents of a string that skipString
// accepted, as encoding/json's unquote does.
func unquote(s []byte) string {
	b := make([]byte, 0, len(s)+utf8.UTFMax)
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if len(s)-r >= 6 && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:])); dec != unicode.ReplacementChar {
							b = utf8.AppendRune(b, dec)
							r += 6
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // " \ /
				b = append(b, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return string(b)
}
