package client_test

import (
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	t.Parallel()
	const es = "text/event-stream"
	never := func(int) bool { return false }
	only418 := func(s int) bool { return s == 418 }
	tests := []struct {
		name  string
		resp  client.Response
		retry func(int) bool
		want  client.Decision
	}{
		{"200 event stream", client.Response{Status: 200, ContentType: es}, nil,
			client.Decision{Action: client.ActionAccept}},
		{"200 with parameters", client.Response{Status: 200, ContentType: "Text/Event-Stream; charset=windows-1252"}, nil,
			client.Decision{Action: client.ActionAccept}},
		{"200 trailing semicolon", client.Response{Status: 200, ContentType: "text/event-stream;"}, nil,
			client.Decision{Action: client.ActionAccept}},
		{"200 wrong type", client.Response{Status: 200, ContentType: "text/html; charset=utf-8"}, nil,
			client.Decision{Action: client.ActionFail, Reason: `content type "text/html; charset=utf-8" is not text/event-stream`}},
		{"200 bogus type", client.Response{Status: 200, ContentType: "x bogus"}, nil,
			client.Decision{Action: client.ActionFail, Reason: `content type "x bogus" is not text/event-stream`}},
		{"200 no type", client.Response{Status: 200}, nil,
			client.Decision{Action: client.ActionFail, Reason: "no content type, want text/event-stream"}},
		{"204 stops", client.Response{Status: 204, StatusText: "No Content", ContentType: es}, nil,
			client.Decision{Action: client.ActionStop, Reason: "HTTP 204 No Content: the server asked not to reconnect"}},
		{"204 stops even if retried", client.Response{Status: 204}, func(int) bool { return true },
			client.Decision{Action: client.ActionStop, Reason: "HTTP 204: the server asked not to reconnect"}},
		{"205 fails", client.Response{Status: 205, ContentType: es}, nil,
			client.Decision{Action: client.ActionFail, Reason: "HTTP 205"}},
		{"210 fails", client.Response{Status: 210, ContentType: es}, nil,
			client.Decision{Action: client.ActionFail, Reason: "HTTP 210"}},
		{"299 fails", client.Response{Status: 299, ContentType: es}, nil,
			client.Decision{Action: client.ActionFail, Reason: "HTTP 299"}},
		{"404 fails", client.Response{Status: 404, StatusText: "Not Found"}, nil,
			client.Decision{Action: client.ActionFail, Reason: "HTTP 404 Not Found"}},
		{"410 fails", client.Response{Status: 410, StatusText: " Gone "}, nil,
			client.Decision{Action: client.ActionFail, Reason: "HTTP 410 Gone"}},
		{"401 fails", client.Response{Status: 401}, nil,
			client.Decision{Action: client.ActionFail, Reason: "HTTP 401"}},
		{"500 retried", client.Response{Status: 500, StatusText: "Internal Server Error"}, nil,
			client.Decision{Action: client.ActionRetry, Reason: "HTTP 500 Internal Server Error"}},
		{"503 with Retry-After seconds", client.Response{Status: 503, RetryAfter: "120"}, nil,
			client.Decision{Action: client.ActionRetry, RetryAfter: 2 * time.Minute, Reason: "HTTP 503"}},
		{"429 with Retry-After date", client.Response{Status: 429, RetryAfter: "Sat, 21 Nov 2026 12:00:30 GMT"}, nil,
			client.Decision{Action: client.ActionRetry, RetryAfter: 30 * time.Second, Reason: "HTTP 429"}},
		{"503 with a malformed Retry-After", client.Response{Status: 503, RetryAfter: "soon"}, nil,
			client.Decision{Action: client.ActionRetry, Reason: "HTTP 503"}},
		{"599 retried", client.Response{Status: 599}, nil,
			client.Decision{Action: client.ActionRetry, Reason: "HTTP 599"}},
		{"600 fails", client.Response{Status: 600}, nil,
			client.Decision{Action: client.ActionFail, Reason: "HTTP 600"}},
		{"503 not retried by choice", client.Response{Status: 503, RetryAfter: "1"}, never,
			client.Decision{Action: client.ActionFail, Reason: "HTTP 503"}},
		{"418 retried by choice", client.Response{Status: 418, RetryAfter: "2"}, only418,
			client.Decision{Action: client.ActionRetry, RetryAfter: 2 * time.Second, Reason: "HTTP 418"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := client.Decide(tt.resp, now, tt.retry); got != tt.want {
				t.Errorf("Decide(%+v) = %+v; want %+v", tt.resp, got, tt.want)
			}
		})
	}
}

func TestRetryStatus(t *testing.T) {
	t.Parallel()
	for status := 100; status < 700; status++ {
		want := status == 429 || status >= 500 && status < 600
		if got := client.RetryStatus(status); got != want {
			t.Errorf("RetryStatus(%d) = %v; want %v", status, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"5", 5 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"007", 7 * time.Second, true},
		{"Sat, 21 Nov 2026 12:01:00 GMT", time.Minute, true},         // IMF-fixdate
		{"Saturday, 21-Nov-26 12:00:10 GMT", 10 * time.Second, true}, // RFC 850
		{"Sat Nov 21 12:00:02 2026", 2 * time.Second, true},          // asctime
		{"Sat, 21 Nov 2026 11:00:00 GMT", 0, true},                   // in the past
		{"99999999999999999999", 1<<63 - 1, true},                    // clamped
		{"9223372036854775807", 1<<63 - 1, true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"5s", 0, false},
		{"tomorrow", 0, false},
		{"2026-11-21T12:01:00Z", 0, false},
	}
	for _, tt := range tests {
		got, ok := client.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHeaderValue(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc-1", "abc-1"},
		{"…", "\u00e2\u0080\u00a6"}, // the bytes E2 80 A6, as EventSource sends them
		{"é1", "\u00c3\u00a91"},
		{"\xff", "\u00ff"}, // not UTF-8: still byte for byte
	}
	for _, tt := range tests {
		got := client.HeaderValue(tt.in)
		if got != tt.want {
			t.Errorf("HeaderValue(%q) = %q; want %q", tt.in, got, tt.want)
		}
		// Every code point is one byte of the input, in order.
		var back []byte
		for _, r := range got {
			if r > 0xFF {
				t.Fatalf("HeaderValue(%q) = %q: code point %U is not a byte", tt.in, got, r)
			}
			back = append(back, byte(r))
		}
		if string(back) != tt.in {
			t.Errorf("HeaderValue(%q) carries the bytes %q; want the input's", tt.in, back)
		}
	}
}

func TestActionString(t *testing.T) {
	t.Parallel()
	for a, want := range map[client.Action]string{
		client.ActionAccept: "accept", client.ActionStop: "stop",
		client.ActionFail: "fail", client.ActionRetry: "retry", 0: "Action(0)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q; want %q", int(a), got, want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "5", " 5 ", "99999999999999999999", "Sat, 21 Nov 2026 12:01:00 GMT",
		"Saturday, 21-Nov-26 12:00:10 GMT", "Sat Nov 21 12:00:02 2026", "-5", "1.5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := client.ParseRetryAfter(v, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %v, %v; want a wait of at least 0, and 0 when not ok", v, d, ok)
		}
	})
}
