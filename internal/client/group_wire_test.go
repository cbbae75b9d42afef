package client

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

func TestComparePositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		c    int
		ok   bool
	}{
		{"3f9a-17", "3f9a-17", 0, true},
		{"3f9a-9", "3f9a-17", -1, true},
		{"3f9a-17", "3f9a-9", 1, true},
		{"3f9a-017", "3f9a-17", 0, true},
		{"aa-1", "bb-2", 0, false},
		{"x", "y", 0, false},
		{"", "", 0, true},
		{"", "e-1", 0, false},
		{"E-1", "E-2", 0, false}, // not an ssekit epoch
		{"e-1-2", "e-1-3", 0, false},
		{"-1", "-2", 0, false},
		{"e-", "e-1", 0, false},
		{"e-+1", "e-2", 0, false},
		{"e-18446744073709551616", "e-1", 0, false},
	}
	for _, tt := range tests {
		c, ok := comparePositions(tt.a, tt.b)
		if c != tt.c || ok != tt.ok {
			t.Errorf("comparePositions(%q, %q) = %d, %v; want %d, %v", tt.a, tt.b, c, ok, tt.c, tt.ok)
		}
	}
}

// groupMsgs are messages of every kind, for the round trip and the fuzz
// seeds.
func groupMsgs() []*groupMsg {
	hello := sse.Event{Type: schema.HelloEvent, ID: "e1-7", Data: `{"fingerprint":"ab","heartbeat":500}`}
	events := []relayEntry{
		{kind: entryOpen},
		{kind: entryEvent, ev: hello},
		{kind: entryEvent, ev: sse.Event{Type: "seq", ID: "e1-8", Data: "1"}},
		{kind: entryEvent, ev: sse.Event{Type: "seq", ID: "e1-10", Data: "2"}},
		{kind: entryEvent, ev: sse.Event{Type: "message", ID: "e1-10", Data: "line 1\nline 2"}},
		{kind: entryID, ev: sse.Event{ID: "e1-12"}},
		{kind: entryEvent, ev: sse.Event{Type: "seq", ID: "opaque", Data: ""}},
		{kind: entryEvent, ev: sse.Event{Type: "seq", ID: "e1-013", Data: "3"}}, // not in canonical form
		{kind: entryEvent, ev: sse.Event{Type: "seq", ID: "", Data: "4"}},
		{kind: entryError, info: ConnInfo{Reason: "connection lost", Code: 1}},
		{kind: entryEnd, info: ConnInfo{Closed: true, Status: 403, Reason: "HTTP 403 Forbidden", Body: "no", Delay: 2 * time.Second, Err: "boom"}},
	}
	return []*groupMsg{
		{kind: msgJoin, from: "tab1", pos: "e1-5", cursor: true, types: []string{"seq", "message"}},
		{kind: msgState, from: "tab2", to: "tab1", term: 1767225600000, n: 42, pos: "e1-5", open: true, serve: true, hb: 500 * time.Millisecond,
			origin: "https://x.test", hello: &hello, lastErr: &ConnInfo{Reason: "r"}, types: []string{"seq"}, entries: events[2:4]},
		{kind: msgBatch, from: "tab2", term: 1767225600000, n: 7, pos: "", origin: "https://x.test", entries: events},
		{kind: msgBeat, from: "tab2", term: 3, n: 9, pos: "e1-12", open: true, hb: time.Second},
		{kind: msgTypes, from: "tab3", types: []string{"a"}},
		{kind: msgBye, from: "tab2", term: 3},
	}
}

func TestGroupMsgRoundTrip(t *testing.T) {
	t.Parallel()
	for _, m := range groupMsgs() {
		b := appendMsg(nil, m)
		got, err := decodeMsg(b)
		if err != nil {
			t.Errorf("decodeMsg(appendMsg(%c)) error = %v", m.kind, err)
			continue
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("decodeMsg(appendMsg(%c)) =\n\t%+v\nwant\n\t%+v", m.kind, got, m)
		}
		for i := range b { // every truncation fails
			if _, err := decodeMsg(b[:i]); err == nil {
				t.Errorf("decodeMsg(%q) of a message cut at %d: no error", b[:i], i)
				break
			}
		}
	}
}

// TestGroupMsgSize: an event of a sequence costs its data and a few bytes.
func TestGroupMsgSize(t *testing.T) {
	t.Parallel()
	m := &groupMsg{kind: msgBatch, from: "k2v9a7q1x0z3", term: 1767225600000, pos: "3f9a1c0b7d2e-1000", origin: "https://example.com"}
	for i := range 100 {
		m.entries = append(m.entries, relayEntry{kind: entryEvent, ev: sse.Event{Type: "price.tick", ID: "3f9a1c0b7d2e-" + strconv.Itoa(1001+2*i), Data: `{"symbol":"ACME","cents":12345}`}})
	}
	b := appendMsg(nil, m)
	data := len(m.entries[0].ev.Data)
	if per := (len(b) - 100) / 100; per > data+4 {
		t.Errorf("%d bytes per event of %d bytes of data; want at most %d", per, data, data+4)
	}
}

func FuzzDecodeGroupMsg(f *testing.F) {
	for _, m := range groupMsgs() {
		f.Add(appendMsg(nil, m))
	}
	f.Add([]byte("B"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMsg(b)
		if err != nil {
			return
		}
		// What decodes encodes to what decodes to the same.
		again, err := decodeMsg(appendMsg(nil, m))
		if err != nil {
			t.Fatalf("decodeMsg(appendMsg(decodeMsg(%q))) error = %v", b, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("decodeMsg(%q) = %+v; after a round trip %+v", b, m, again)
		}
	})
}

func BenchmarkGroupBatch(b *testing.B) {
	m := &groupMsg{kind: msgBatch, from: "k2v9a7q1x0z3", term: 1767225600000, pos: "3f9a1c0b7d2e-1000", origin: "https://example.com"}
	for i := range 32 {
		m.entries = append(m.entries, relayEntry{kind: entryEvent, ev: sse.Event{Type: "price.tick", ID: "3f9a1c0b7d2e-" + strconv.Itoa(1001+i), Data: `{"symbol":"ACME","cents":12345}`}})
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendMsg(buf[:0], m)
		if _, err := decodeMsg(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf))/32, "bytes/event")
}
