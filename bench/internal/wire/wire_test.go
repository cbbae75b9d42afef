package wire

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPayload(t *testing.T) {
	t.Parallel()
	p := Payload(12345, 1732160000123456789)
	if len(p) != PayloadSize {
		t.Fatalf("len(Payload()) = %d; want %d", len(p), PayloadSize)
	}
	f, ok := ParseFrame([]byte("id: abc-7\nevent: tick\ndata: " + string(p) + "\n"))
	if !ok || f.Seq != 12345 || f.T != 1732160000123456789 || string(f.ID) != "abc-7" {
		t.Fatalf("ParseFrame() = %+v, %v; want seq 12345, t, id abc-7", f, ok)
	}
}

func TestTimedPayload(t *testing.T) {
	t.Parallel()
	p := TimedPayload(7, 1732160000123456789, 1732160000223456789)
	if len(p) != PayloadSize {
		t.Fatalf("len(TimedPayload()) = %d; want %d", len(p), PayloadSize)
	}
	due, call, ok := SendTimes([]byte("data: " + string(p) + "\n"))
	if !ok || due != 1732160000123456789 || call != 1732160000223456789 {
		t.Fatalf("SendTimes(%q) = %d, %d, %v; want both times", p, due, call, ok)
	}
	if seq, ok := Seq([]byte("data: " + string(p) + "\n")); !ok || seq != 7 {
		t.Fatalf("Seq(%q) = %d, %v; want 7, true", p, seq, ok)
	}
	if seq, ok := Seq([]byte(":\n")); ok {
		t.Fatalf("Seq(%q) = %d, %v; want false", ":\n", seq, ok)
	}
	due, call, ok = SendTimes(Payload(7, 42))
	if !ok || due != 42 || call != 42 {
		t.Fatalf("SendTimes(Payload(7, 42)) = %d, %d, %v; want 42, 42, true", due, call, ok)
	}
}

func TestStreamChunked(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 50 {
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", i, Payload(uint64(i), int64(i)))
			if i%7 == 0 {
				w.(http.Flusher).Flush()
			}
		}
	}))
	defer ts.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := Open(c, host, "/", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for {
		err := s.Read(func(b []byte, _ time.Time) {
			if f, ok := ParseFrame(b); ok {
				got = append(got, f.Seq)
			}
		})
		if err == ErrEnd {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 50 || got[49] != 49 {
		t.Fatalf("read %d frames (%v); want 50", len(got), got)
	}
}
