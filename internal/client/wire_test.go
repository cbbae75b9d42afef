package client_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
)

func TestNativeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, lastID, want string
	}{
		{"https://x.test/events", "", "https://x.test/events?heartbeat=event"},
		{"https://x.test/events?topic=a&topic=b", "e-1", "https://x.test/events?topic=a&topic=b&heartbeat=event&lastEventId=e-1"},
		{"https://x.test/events?lastEventId=old&topic=a%20b&heartbeat=comment", "é…1", "https://x.test/events?topic=a%20b&heartbeat=event&lastEventId=%C3%A9%E2%80%A61"},
		{"https://x.test/events?last%45ventId=old&x=1#frag", "", "https://x.test/events?x=1&heartbeat=event#frag"},
		{"https://x.test/events?&&x&", "a&b=c", "https://x.test/events?x&heartbeat=event&lastEventId=a%26b%3Dc"},
	}
	for _, tt := range tests {
		if got := client.NativeURL(tt.raw, tt.lastID); got != tt.want {
			t.Errorf("NativeURL(%q, %q) = %q; want %q", tt.raw, tt.lastID, got, tt.want)
		}
	}
}

func TestQueryLastEventID(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"https://x.test/events", ""},
		{"https://x.test/events?topic=a&lastEventId=e-1&lastEventId=e-2", "e-1"},
		{"https://x.test/events?lastEventId=%C3%A9%E2%80%A61#x", "é…1"},
		{"https://x.test/events?lastEventId", ""},
		{"https://x.test/events?lastEventId=%zz", "%zz"},
	}
	for _, tt := range tests {
		if got := client.QueryLastEventID(tt.raw); got != tt.want {
			t.Errorf("QueryLastEventID(%q) = %q; want %q", tt.raw, got, tt.want)
		}
	}
}

func TestHelloHeartbeat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data string
		want time.Duration
	}{
		{`{"fingerprint":"v1:x","heartbeat":15000}`, 15 * time.Second},
		{`{"fingerprint":"v1:x"}`, 0},
		{`{"heartbeat":0}`, 0},
		{`{"heartbeat":-5}`, 0},
		{`{"heartbeat":"15000"}`, 0},
		{`not json`, 0},
		{`{"heartbeat":9223372036854775807}`, 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := client.HelloHeartbeat(tt.data); got != tt.want {
			t.Errorf("HelloHeartbeat(%s) = %v; want %v", tt.data, got, tt.want)
		}
	}
	if got := client.HelloEvents(`{"fingerprint":"v1:x","events":["a","b"],"heartbeat":1}`); strings.Join(got, ",") != "a,b" {
		t.Errorf("HelloEvents = %q; want a, b", got)
	}
	if got := client.HelloEvents(`nope`); got != nil {
		t.Errorf("HelloEvents(malformed) = %q; want nil", got)
	}
	if !client.IsHeartbeat("ssekit.heartbeat") || client.IsHeartbeat("ssekit.hello") {
		t.Error("IsHeartbeat: wrong")
	}
	if got := strings.Join(client.NativeEvents(), " "); got != "ssekit.hello ssekit.reset ssekit.heartbeat" {
		t.Errorf("NativeEvents() = %s", got)
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	var r client.Refresh
	if r.Refused(401, false) {
		t.Error("Refused(401) with a fixed request = true; want false: it would send the same")
	}
	if r.Refused(403, true) {
		t.Error("Refused(403) = true; want false: new credentials are for 401")
	}
	if !r.Refused(401, true) {
		t.Error("first Refused(401) with a request function = false; want true")
	}
	if r.Refused(401, true) {
		t.Error("second Refused(401) in a row = true; want false")
	}
	r.Accepted()
	if !r.Refused(401, true) {
		t.Error("Refused(401) after an accepted response = false; want true")
	}
}

func TestReasonText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", client.MaxReasonBody-1) + "é" + "tail"
	tests := []struct {
		body []byte
		want string
	}{
		{[]byte("  token expired\n"), "token expired"},
		{[]byte("bad \xff byte"), "bad \uFFFD byte"},
		{[]byte(long), strings.Repeat("a", client.MaxReasonBody-1)}, // é cut in two is dropped
		{[]byte(strings.Repeat("b", 5000)), strings.Repeat("b", client.MaxReasonBody)},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := client.ReasonText(tt.body); got != tt.want {
			t.Errorf("ReasonText(%.20q…) = %.20q… (%d bytes); want %.20q… (%d bytes)", tt.body, got, len(got), tt.want, len(tt.want))
		}
	}
	for ct, want := range map[string]bool{"text/plain; charset=utf-8": true, "Text/Plain": true, "text/html": false, "": false} {
		if got := client.WantsReason(ct); got != want {
			t.Errorf("WantsReason(%q) = %v; want %v", ct, got, want)
		}
	}
}

// 401 and 403 fail whatever the retry rule says.
func TestDecideAuthNeverRetried(t *testing.T) {
	t.Parallel()
	all := func(int) bool { return true }
	for _, status := range []int{401, 403} {
		d := client.Decide(client.Response{Status: status}, time.Now(), all)
		if d.Action != client.ActionFail {
			t.Errorf("Decide(%d, retry everything) = %v; want fail", status, d.Action)
		}
	}
	if d := client.Decide(client.Response{Status: 400}, time.Now(), all); d.Action != client.ActionRetry {
		t.Errorf("Decide(400, retry everything) = %v; want retry", d.Action)
	}
}

// TestQueryEscape checks the query escaping of NativeURL and
// QueryLastEventID against net/url's, which the bundle does not link.
func TestQueryEscape(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "3f9a1c0b7d2e-17", "a b+c&d=e%f/g?h#i", "é\x00\xff~._-", "%zz", "%4", "100%"} {
		got := client.NativeURL("https://example.com/events", id)
		want := "https://example.com/events?heartbeat=event"
		if id != "" {
			want += "&lastEventId=" + url.QueryEscape(id)
		}
		if got != want {
			t.Errorf("NativeURL(_, %q) = %q; want %q", id, got, want)
		}
		raw := "/events?lastEventId=" + url.QueryEscape(id)
		if back := client.QueryLastEventID(raw); back != id {
			t.Errorf("QueryLastEventID(%q) = %q; want %q", raw, back, id)
		}
	}
	for _, v := range []string{"%zz", "%4", "100%", "a+b%20c"} {
		want, err := url.QueryUnescape(v)
		if err != nil {
			want = v // kept as it is
		}
		if got := client.QueryLastEventID("/events?lastEventId=" + v); got != want {
			t.Errorf("QueryLastEventID(%q) = %q; want %q", v, got, want)
		}
	}
}
