package client

import "strings"

// MediaType returns the essence of the MIME type in a Content-Type header
// value, type "/" subtype in lower case without parameters, following the
// WHATWG MIME Sniffing "parse a MIME type" algorithm: surrounding HTTP
// whitespace is ignored, type and subtype must be non-empty HTTP tokens, and
// parameters, well formed or not, never make the value invalid. ok is false
// when the value is not a MIME type at all ("x bogus", "", "text/").
func MediaType(contentType string) (essence string, ok bool) {
	s := strings.Trim(contentType, httpWhitespace)
	typ, rest, found := strings.Cut(s, "/")
	if !found || !isToken(typ) {
		return "", false
	}
	sub, _, _ := strings.Cut(rest, ";")
	sub = strings.TrimRight(sub, httpWhitespace)
	if !isToken(sub) {
		return "", false
	}
	return strings.ToLower(typ) + "/" + strings.ToLower(sub), true
}

// IsEventStream reports whether a Content-Type header value names
// text/event-stream: the essence compared case-insensitively and parameters
// ignored, the fix proposed for whatwg/html#7630. So
// "text/event-stream;charset=windows-1252", "Text/Event-Stream" and
// "text/event-stream;" are accepted, and "text/event-streamX", "x bogus" and
// "" are not. WPT eventsource/format-mime-trailing-semicolon,
// eventsource/format-utf-8, eventsource/format-mime-valid-bogus and
// eventsource/format-mime-bogus check some of these cases in browsers.
func IsEventStream(contentType string) bool {
	essence, ok := MediaType(contentType)
	return ok && essence == "text/event-stream"
}

const httpWhitespace = "\t\n\r "

// isToken reports whether s is a non-empty run of HTTP token code points
// (RFC 9110 tchar).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
