package server_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/sse"
)

// bodyCases are event bodies a broker might read back from its store, put
// there by anyone who can write to it. Each refused one would otherwise
// reach clients as more than one event, with an ID the broker did not
// assign, or as a reserved event the server did not make.
var bodyCases = []struct {
	name  string
	frame string
	ok    bool
}{
	{"Event", "event: price\ndata: {}\n\n", true},
	{"DataOnly", "data: x\n\n", true},
	{"MultilineData", "data: a\ndata: b\n\n", true},
	{"Comment", ": note\ndata: x\n\n", true},
	{"Retry", "retry: 1000\ndata: x\n\n", true},
	{"EmptyData", "data: \n\n", true},
	{"EventNamedLikeReservedWithSpace", "event:  ssekit.reset\ndata: x\n\n", true}, // type " ssekit.reset"
	{"IDFirst", "id: 1\ndata: x\n\n", false},
	{"IDLater", "data: x\nid: forged\n\n", false},
	{"IDNoSpace", "data: x\nid:forged\n\n", false},
	{"BareID", "data: x\nid\n\n", false},
	{"TwoEvents", "data: x\n\ndata: y\n\n", false},
	{"CROnlyBlockEnd", "data: x\r\rdata: y\n\n", false},
	{"CRLFBlockEnd", "data: x\r\n\r\nevent: ssekit.reset\ndata: {}\n\n", false},
	{"CRInData", "data: a\rid: forged\n\n", false},
	{"ReservedEvent", "event: ssekit.reset\ndata: {\"reason\":\"expired\"}\n\n", false},
	{"ReservedHello", "event:ssekit.hello\ndata: {}\n\n", false},
	{"NoBlankLine", "data: x\n", false},
	{"Empty", "", false},
	{"OnlyBlank", "\n\n", false},
	{"NoData", "event: x\n\n", false},
	{"Unterminated", "data: x", false},
}

// TestNewFrame frames bodies as a broker that stores them elsewhere does:
// NewFrame refuses every body that would not reach clients as one event
// with the broker's ID.
func TestNewFrame(t *testing.T) {
	t.Parallel()
	for _, tt := range bodyCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := server.NewFrame("e0", 1, []byte(tt.frame))
			if (err == nil) != tt.ok {
				t.Fatalf("NewFrame(%q) = %v; want ok %v", tt.frame, err, tt.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "server: ") {
				t.Errorf("NewFrame(%q) = %q; want an error starting with \"server: \"", tt.frame, err)
			}
			if tt.ok {
				if f.Seq != 1 || !bytes.HasPrefix(f.Bytes, []byte("id: e0-1\n")) {
					t.Fatalf("NewFrame(%q) = %d %q; want seq 1 behind id: e0-1", tt.frame, f.Seq, f.Bytes)
				}
				checkOneEvent(t, f.Bytes)
			}
		})
	}
}

// TestMessageFrame frames messages in place, as the memory broker does:
// the id field goes into the room in front of the body, for any sequence
// number, and the frame decodes to the event.
func TestMessageFrame(t *testing.T) {
	t.Parallel()
	b := server.NewMemoryBroker()
	defer b.Close()
	for _, seq := range []uint64{0, 1, 9, 10, 12345, ^uint64(0)} {
		m, err := server.NewMessage(b, priceTick, Price{Symbol: "ACME", Cents: 1})
		if err != nil {
			t.Fatal(err)
		}
		body := string(m.Body())
		f := m.Frame(b.Epoch(), seq)
		want := server.EventID{Epoch: b.Epoch(), Seq: seq}.String()
		if f.Seq != seq || string(f.Bytes) != "id: "+want+"\n"+body {
			t.Fatalf("Frame(%d) = %q; want the id field of %s, then %q", seq, f.Bytes, want, body)
		}
		checkOneEventID(t, f.Bytes, want)
	}
	// An epoch longer than the room was made for still frames.
	m, _ := server.NewMessage(b, priceTick, Price{})
	long := strings.Repeat("e", 64)
	if f := m.Frame(long, 7); !bytes.HasPrefix(f.Bytes, []byte("id: "+long+"-7\n")) {
		t.Fatalf("Frame(long epoch) = %q", f.Bytes)
	}
	for _, typ := range []string{"", "ssekit.reset", "a\nb"} {
		if _, err := server.PublishRaw(context.Background(), b, "t", typ, []byte("x")); err == nil {
			t.Errorf("PublishRaw(type %q) = nil; want an error", typ)
		}
	}
}

// checkOneEvent checks that frame decodes to exactly one event, with the ID
// e0-1 and not of a reserved type.
func checkOneEvent(t *testing.T, frame []byte) {
	t.Helper()
	checkOneEventID(t, frame, "e0-1")
}

func checkOneEventID(t *testing.T, frame []byte, id string) {
	t.Helper()
	d := sse.NewDecoder(bytes.NewReader(frame))
	ev, err := d.Next()
	if err != nil {
		t.Fatalf("accepted frame %q does not decode to an event: %v", frame, err)
	}
	if ev.ID != id || strings.HasPrefix(ev.Type, "ssekit.") {
		t.Fatalf("accepted frame %q decodes to %+v; want ID %q and no reserved type", frame, ev, id)
	}
	if ev, err := d.Next(); err != io.EOF {
		t.Fatalf("accepted frame %q decodes to a second event %+v, %v", frame, ev, err)
	}
	if d.LastEventID() != id {
		t.Fatalf("accepted frame %q leaves the last event ID %q; want %q", frame, d.LastEventID(), id)
	}
}

// FuzzNewFrame checks that no body NewFrame accepts reaches a client as
// anything but one event with the broker's ID.
func FuzzNewFrame(f *testing.F) {
	for _, tt := range bodyCases {
		f.Add([]byte(tt.frame))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if fr, err := server.NewFrame("e0", 1, body); err == nil {
			checkOneEvent(t, fr.Bytes)
		}
	})
}
