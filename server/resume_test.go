package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
)

// idLine returns the value of the id field among a block's lines, and
// whether it has one.
func idLine(lines []string) (string, bool) {
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "id:"); ok {
			return strings.TrimPrefix(v, " "), true
		}
	}
	return "", false
}

// helloBlock reads a stream's first block, which must be the hello.
func helloBlock(t testing.TB, rs *rawStream) []string {
	t.Helper()
	lines, _ := rs.block()
	if !strings.Contains(strings.Join(lines, "\n"), "event: "+schema.HelloEvent) {
		t.Fatalf("first block = %q; want the hello", lines)
	}
	return lines
}

// TestHelloCarriesPosition checks the ID of the hello: the position a client
// resumes from if the stream ends right after it. A client that has not yet
// received an event must still resume without a gap.
func TestHelloCarriesPosition(t *testing.T) {
	t.Parallel()
	t.Run("NoLastEventID", func(t *testing.T) {
		t.Parallel()
		h := start(t, nil, nil)
		before := h.publish(t, "a", 0)
		rs := openRaw(t, h.url("a"), nil)
		pos, ok := idLine(helloBlock(t, rs))
		if !ok || pos != before {
			t.Fatalf("hello id = %q (present %v); want %q, the last ID before the stream", pos, ok, before)
		}
		// The client goes before any event reaches it; events are
		// published meanwhile; it resumes from the hello's ID.
		h.publish(t, "a", 1)
		h.publish(t, "b", 99)
		h.publish(t, "a", 2)
		s := connect(t, h.url("a"), http.Header{"Last-Event-Id": {pos}})
		for want := int64(1); want <= 2; want++ {
			if got := s.cents(); got != want {
				t.Fatalf("resumed from the hello's ID: got %d; want %d", got, want)
			}
		}
	})
	t.Run("NothingPublishedYet", func(t *testing.T) {
		t.Parallel()
		h := start(t, nil, nil)
		rs := openRaw(t, h.url("a"), nil)
		pos, ok := idLine(helloBlock(t, rs))
		if !ok || pos == "" {
			t.Fatalf("hello id = %q (present %v); want the broker's position", pos, ok)
		}
		h.publish(t, "a", 1)
		s := connect(t, h.url("a"), http.Header{"Last-Event-Id": {pos}})
		if got := s.cents(); got != 1 {
			t.Fatalf("resumed from the hello's ID: got %d; want 1", got)
		}
	})
	t.Run("QueryParameter", func(t *testing.T) {
		t.Parallel()
		h := start(t, nil, nil)
		first := h.publish(t, "a", 0)
		h.publish(t, "a", 1)
		rs := openRaw(t, h.url("a")+"&lastEventId="+first, nil)
		if pos, ok := idLine(helloBlock(t, rs)); !ok || pos != first {
			t.Fatalf("hello id = %q (present %v); want %q, the ID asked for", pos, ok, first)
		}
	})
	t.Run("Header", func(t *testing.T) {
		t.Parallel()
		h := start(t, nil, nil)
		first := h.publish(t, "a", 0)
		rs := openRaw(t, h.url("a"), http.Header{"Last-Event-Id": {first}})
		if pos, ok := idLine(helloBlock(t, rs)); ok {
			t.Fatalf("hello id = %q; want no id field (the client has its ID)", pos)
		}
	})
	for _, q := range []string{"header", "query"} {
		t.Run("PendingReset/"+q, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, nil)
			h.publish(t, "a", 0)
			target, header := h.url("a"), http.Header(nil)
			if q == "header" {
				header = http.Header{"Last-Event-Id": {"zzzzzz-1"}}
			} else {
				target += "&lastEventId=zzzzzz-1"
			}
			rs := openRaw(t, target, header)
			if pos, ok := idLine(helloBlock(t, rs)); ok {
				t.Fatalf("hello id = %q before a reset; want none: the position comes with the reset", pos)
			}
			lines, _ := rs.block()
			if id, ok := idLine(lines); !ok || id == "" || !strings.Contains(strings.Join(lines, "\n"), schema.ResetEvent) {
				t.Fatalf("second block = %q; want a reset with an id", lines)
			}
		})
	}
}

// TestLargeReplayUnderLiveTraffic resumes a client that missed more events
// than a connection's queue holds while live events arrive before its
// stream writes its first byte: the replay must be delivered in full, then
// the live events, with no eviction.
func TestLargeReplayUnderLiveTraffic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		replay int // events missed
		live   int // events published as the stream starts
		limits server.QueueLimits
	}{
		{"DefaultLimits", server.DefaultQueueFrames + 1000, 1, server.QueueLimits{}},
		{"LiveOverflowsQueue", 3000, 500, server.QueueLimits{Frames: 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, server.NewMemoryBroker(server.WithRetention(20_000, 0)), nil, server.WithQueueLimits(tt.limits))
			from := h.publish(t, "a", 0)
			for i := 1; i <= tt.replay; i++ {
				h.publish(t, "a", int64(i))
			}
			server.SetAfterSubscribe(h.srv, func() {
				for i := 1; i <= tt.live; i++ {
					if _, err := server.Publish(context.Background(), h.broker, "a", priceTick, Price{Cents: int64(tt.replay + i)}); err != nil {
						t.Error(err)
					}
				}
			})
			s := connect(t, h.url("a"), http.Header{"Last-Event-Id": {from}})
			for want := int64(1); want <= int64(tt.replay+tt.live); want++ {
				if got := s.cents(); got != want {
					t.Fatalf("event %d of the replay and live events = %d; want %d", want, got, want)
				}
			}
			if st := h.srv.Stats(); st.Evicted != 0 || st.Connections != 1 {
				t.Errorf("Stats() = %+v; want one connection, no eviction", st)
			}
		})
	}
}
