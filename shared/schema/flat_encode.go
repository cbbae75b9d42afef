package schema

import (
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// appendStruct appends the JSON of the struct at p as encoding/json's
// Marshal writes it. It returns false for a value encoding/json refuses (a
// NaN or an infinity, a time it cannot format), for the caller to get
// encoding/json's error.
func (c *flatCodec[T]) appendStruct(b []byte, p unsafe.Pointer) ([]byte, bool) {
	b = append(b, '{')
	first := true
	for i := range c.fields {
		f := &c.fields[i]
		fp := unsafe.Add(p, f.off)
		if f.omit != 0 && f.omitted(fp) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		var ok bool
		switch f.kind {
		case kindSlice:
			b, ok = f.appendSlice(b, fp)
		case kindTime:
			b = append(b, '"')
			var err error
			if b, err = timeAt(f.typ, fp).AppendText(b); err != nil {
				return b, false
			}
			b, ok = append(b, '"'), true
		default:
			b, ok = appendValue(b, f.kind, f.bits, fp)
		}
		if !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// omitted reports whether omitempty or omitzero leaves the field at p out,
// by encoding/json's rules: omitempty for false, 0, "" and an empty
// slice, omitzero for the zero value (a nil slice, a time whose IsZero is
// true), and both for either.
func (f *flatField) omitted(p unsafe.Pointer) bool {
	switch f.kind {
	case kindSlice:
		s := (*[]byte)(p) // only the header is read
		return f.omit&omitZero != 0 && *s == nil || f.omit&omitEmpty != 0 && len(*s) == 0
	case kindTime:
		return f.omit&omitZero != 0 && timeAt(f.typ, p).IsZero()
	case kindBool:
		return !*(*bool)(p)
	case kindString:
		return *(*string)(p) == ""
	case kindFloat:
		if f.bits == 32 {
			return *(*float32)(p) == 0
		}
		return *(*float64)(p) == 0
	case kindInt:
		return loadInt(f.bits, p) == 0
	case kindUint:
		return loadUint(f.bits, p) == 0
	}
	return false
}

// appendSlice appends the slice at p: null when it is nil, as
// encoding/json writes it.
func (f *flatField) appendSlice(b []byte, p unsafe.Pointer) ([]byte, bool) {
	hdr := (*[]byte)(p) // the header: data pointer and length
	if *hdr == nil {
		return append(b, "null"...), true
	}
	size := elemSize(f.elem, f.bits)
	data := unsafe.Pointer(unsafe.SliceData(*hdr))
	b = append(b, '[')
	for i := range len(*hdr) {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendValue(b, f.elem, f.bits, unsafe.Add(data, uintptr(i)*size)); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

func elemSize(k flatKind, bits int) uintptr {
	switch k {
	case kindString:
		return unsafe.Sizeof("")
	case kindBool:
		return 1
	}
	return uintptr(bits / 8)
}

// appendValue appends the scalar of kind k at p.
func appendValue(b []byte, k flatKind, bits int, p unsafe.Pointer) ([]byte, bool) {
	switch k {
	case kindBool:
		return strconv.AppendBool(b, *(*bool)(p)), true
	case kindString:
		return appendString(b, *(*string)(p)), true
	case kindInt:
		return strconv.AppendInt(b, loadInt(bits, p), 10), true
	case kindUint:
		return strconv.AppendUint(b, loadUint(bits, p), 10), true
	case kindFloat:
		if bits == 32 {
			return appendFloat(b, float64(*(*float32)(p)), 32)
		}
		return appendFloat(b, *(*float64)(p), 64)
	}
	return b, false
}

func loadInt(bits int, p unsafe.Pointer) int64 {
	switch bits {
	case 8:
		return int64(*(*int8)(p))
	case 16:
		return int64(*(*int16)(p))
	case 32:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

func loadUint(bits int, p unsafe.Pointer) uint64 {
	switch bits {
	case 8:
		return uint64(*(*uint8)(p))
	case 16:
		return uint64(*(*uint16)(p))
	case 32:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

// appendFloat appends f as encoding/json does: like ES6's number to string
// conversion, the shortest repr, in exponent form below 1e-6 and from
// 1e21. It returns false for NaN and the infinities, which JSON cannot
// hold.
func appendFloat(b []byte, f float64, bits int) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			fmt = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, fmt, -1, bits)
	if fmt == 'e' { // e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json quotes it by default
// (HTML-safe): ", \ and control characters escaped, <, > and & as \u003c,
// \u003e and \u0026, U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
