package client

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Response is what the fetch transport needs to know about a response to
// decide what to do with it.
type Response struct {
	Status      int
	StatusText  string // the reason phrase, "" over HTTP/2
	ContentType string // the Content-Type header, "" when absent
	RetryAfter  string // the Retry-After header, "" when absent
}

// Action is what to do with a response.
type Action int

const (
	// ActionAccept: announce the connection and read the body as an event
	// stream.
	ActionAccept Action = iota + 1
	// ActionStop: the server said there is nothing more (204 No Content);
	// close and never reconnect. WHATWG HTML §9.2.1
	// (https://html.spec.whatwg.org/multipage/server-sent-events.html#server-sent-events-intro)
	// tells servers to stop a client this way.
	ActionStop
	// ActionFail: fail the connection; close and never reconnect, as the
	// native EventSource does for any status but 200 and for a wrong
	// content type. WHATWG HTML §9.2.2
	// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface)
	// requires this; WPT eventsource/request-status-error checks it.
	ActionFail
	// ActionRetry: the failure is worth another attempt (by default a 429
	// or a 5xx); wait as the backoff says, but not less than
	// Decision.RetryAfter.
	ActionRetry
)

// String returns the action's name, "accept", "stop", "fail" or "retry".
func (a Action) String() string {
	switch a {
	case ActionAccept:
		return "accept"
	case ActionStop:
		return "stop"
	case ActionFail:
		return "fail"
	case ActionRetry:
		return "retry"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Decision is the outcome of [Decide].
type Decision struct {
	Action Action
	// RetryAfter is, for ActionRetry, the least wait the server asked for
	// in Retry-After, or 0.
	RetryAfter time.Duration
	// Reason says why the response was not accepted, for an error message:
	// "HTTP 503 Service Unavailable", "content type \"text/html\" is not
	// text/event-stream".
	Reason string
}

// RetryStatus is the default rule for which statuses are retried: 429 Too
// Many Requests and every 5xx. The native EventSource retries none (§9.2.2;
// WPT eventsource/request-status-error); a server that is overloaded or
// restarting is worth waiting for.
func RetryStatus(status int) bool {
	return status == 429 || 500 <= status && status <= 599
}

// Decide applies the connection outcome rules of the fetch transport to a
// response: 200 with a text/event-stream content type (see [IsEventStream])
// is accepted; 204 stops for good; a status for which retry returns true is
// retried, honouring Retry-After (seconds or an HTTP date, relative to now);
// every other status, and a 200 of another content type, fails. A nil retry
// means [RetryStatus]. The body of a response that is not accepted is never
// read.
func Decide(r Response, now time.Time, retry func(status int) bool) Decision {
	if retry == nil {
		retry = RetryStatus
	}
	switch {
	case r.Status == 200:
		if IsEventStream(r.ContentType) {
			return Decision{Action: ActionAccept}
		}
		if r.ContentType == "" {
			return Decision{Action: ActionFail, Reason: "no content type, want text/event-stream"}
		}
		return Decision{Action: ActionFail, Reason: "content type " + strconv.Quote(r.ContentType) + " is not text/event-stream"}
	case r.Status == 204:
		return Decision{Action: ActionStop, Reason: statusReason(r) + ": the server asked not to reconnect"}
	case r.Status == 401 || r.Status == 403:
		return Decision{Action: ActionFail, Reason: statusReason(r)}
	case retry(r.Status):
		d, _ := ParseRetryAfter(r.RetryAfter, now)
		return Decision{Action: ActionRetry, RetryAfter: d, Reason: statusReason(r)}
	}
	return Decision{Action: ActionFail, Reason: statusReason(r)}
}

func statusReason(r Response) string {
	s := "HTTP " + strconv.Itoa(r.Status)
	if t := strings.TrimSpace(r.StatusText); t != "" {
		s += " " + t
	}
	return s
}

// httpDateLayouts are the date forms HTTP/1.1 accepts (RFC 9110 §5.6.7):
// IMF-fixdate, then the obsolete RFC 850 and asctime forms.
var httpDateLayouts = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// ParseRetryAfter interprets a Retry-After header value (RFC 9110 §10.2.3)
// as a wait from now: a number of seconds, or an HTTP date, which gives 0
// when it has passed. ok is false, and the wait 0, for an empty or
// malformed value. A wait too long for a [time.Duration] is clamped.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		const maxSeconds = int64(1<<63-1) / int64(time.Second)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > maxSeconds { // only a range error is possible
			return 1<<63 - 1, true
		}
		return time.Duration(n) * time.Second, true
	}
	for _, layout := range httpDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	return 0, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// HeaderValue returns s in the form fetch() sends byte for byte: each byte
// of s's UTF-8 encoding as one code point U+0000–U+00FF. Headers values in
// fetch are ByteStrings; passing a Go string straight through would make
// "…" throw a TypeError instead of sending E2 80 A6, as the native
// EventSource sends Last-Event-ID: the last event ID string encoded as
// UTF-8, as WHATWG HTML §9.2.3
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model)
// requires; WPT eventsource/format-field-id checks it.
func HeaderValue(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// MaxReasonBody is the most a transport reads of the body of a response it
// refused, for the reason an ssekit server gives in text/plain.
const MaxReasonBody = 1 << 10

// WantsReason reports whether the body of a refused response with this
// Content-Type is worth reading as its reason: text/plain, as an ssekit
// server answers. An HTML error page of a proxy is not.
func WantsReason(contentType string) bool {
	essence, ok := MediaType(contentType)
	return ok && essence == "text/plain"
}

// ReasonText returns the server's reason from the start of a refused
// response's body: at most [MaxReasonBody] bytes, cut at a character
// boundary, invalid UTF-8 replaced, surrounding white space removed.
func ReasonText(b []byte) string {
	if len(b) > MaxReasonBody {
		b = b[:MaxReasonBody]
		for i := 0; i < utf8.UTFMax && len(b) > 0; i++ { // drop a character cut in two
			if r, size := utf8.DecodeLastRune(b); r != utf8.RuneError || size != 1 {
				break
			}
			b = b[:len(b)-1]
		}
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
}
