package sse

import "unicode/utf8"

// appendUTF8 appends b to dst, replacing ill-formed sequences with U+FFFD as
// the WHATWG Encoding Standard's UTF-8 decoder does (§8.1.1): one U+FFFD for
// each maximal subpart of an ill-formed sequence. Neither a range loop over a
// string (one U+FFFD per byte) nor strings.ToValidUTF8 (one per run) matches
// it, and browsers do.
//
// Callers pass whole lines: CR and LF never continue a multi-byte sequence,
// so a sequence cut by a line end is ill-formed whichever way the bytes were
// chunked, and decoding line by line equals decoding the stream.
func appendUTF8(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return append(dst, b...)
	}
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			dst = append(dst, b[0])
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError || size > 1 {
			dst = append(dst, b[:size]...)
			b = b[size:]
			continue
		}
		dst = utf8.AppendRune(dst, utf8.RuneError)
		b = b[maximalSubpart(b):]
	}
	return dst
}

// maximalSubpart returns the length of the ill-formed prefix of b that the
// WHATWG decoder turns into a single U+FFFD: a valid lead byte followed by as
// many valid continuation bytes as still fit a well-formed sequence, or one
// byte when the lead byte itself is invalid.
func maximalSubpart(b []byte) int {
	var need int
	lower, upper := byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case 0xC2 <= c && c <= 0xDF:
		need = 1
	case 0xE0 <= c && c <= 0xEF:
		need = 2
		if c == 0xE0 {
			lower = 0xA0
		} else if c == 0xED {
			upper = 0x9F
		}
	case 0xF0 <= c && c <= 0xF4:
		need = 3
		if c == 0xF0 {
			lower = 0x90
		} else if c == 0xF4 {
			upper = 0x8F
		}
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lower || b[n] > upper {
			break
		}
		lower, upper = 0x80, 0xBF
	}
	return n
}
