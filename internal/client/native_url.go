package client

import (
	"errors"
	"strings"
)

// The query parameters of a native source's URL. EventSource cannot send
// headers, so a new EventSource asks for its position and its heartbeats
// in the query; an ssekit server reads both (a Last-Event-ID header, which
// the browser sends when it reconnects on its own, wins).
const (
	lastEventIDParam = "lastEventId"
	heartbeatParam   = "heartbeat"
)

// NativeURL returns the URL for a new EventSource reading the stream at
// raw (an absolute URL) from lastID: raw with lastEventId=lastID (none when
// lastID is "") and heartbeat=event, replacing any parameters of those
// names. The rest of raw is kept byte for byte, in order.
func NativeURL(raw, lastID string) string {
	base, frag, hasFrag := strings.Cut(raw, "#")
	path, query, _ := strings.Cut(base, "?")
	var kept []string
	for part := range strings.SplitSeq(query, "&") {
		if part == "" {
			continue
		}
		if k := paramName(part); k == lastEventIDParam || k == heartbeatParam {
			continue
		}
		kept = append(kept, part)
	}
	kept = append(kept, heartbeatParam+"=event")
	if lastID != "" {
		kept = append(kept, lastEventIDParam+"="+queryEscape(lastID))
	}
	s := path + "?" + strings.Join(kept, "&")
	if hasFrag {
		s += "#" + frag
	}
	return s
}

// QueryLastEventID returns the value of raw's first lastEventId query
// parameter, "" when it has none: the position a URL built by hand, as
// pages did before WithLastEventID, resumes from.
func QueryLastEventID(raw string) string {
	base, _, _ := strings.Cut(raw, "#")
	_, query, _ := strings.Cut(base, "?")
	for part := range strings.SplitSeq(query, "&") {
		if paramName(part) != lastEventIDParam {
			continue
		}
		_, v, _ := strings.Cut(part, "=")
		if s, err := queryUnescape(v); err == nil {
			return s
		}
		return v
	}
	return ""
}

func paramName(part string) string {
	k, _, _ := strings.Cut(part, "=")
	if s, err := queryUnescape(k); err == nil {
		return s
	}
	return k
}

// queryEscape and queryUnescape are net/url's QueryEscape and
// QueryUnescape, here so that the wasm bundle does not link net/url and
// net/netip (about 10 KB of brotli) for one parameter.
func queryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// errEscape is queryUnescape's error for a malformed % escape.
var errEscape = errors.New("client: malformed % escape")

func queryUnescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", errEscape
			}
			b.WriteByte(byte(unhex(s[i+1])<<4 | unhex(s[i+2])))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
