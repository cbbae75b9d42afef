package server_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/sse"
)

// checkFrameCases are frames a publisher might hand a broker. Each refused
// one would otherwise reach clients as more than one event, with an ID the
// broker did not assign, or as a reserved event the server did not make.
var checkFrameCases = []struct {
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

func TestCheckFrame(t *testing.T) {
	t.Parallel()
	for _, tt := range checkFrameCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := server.CheckFrame([]byte(tt.frame))
			if (err == nil) != tt.ok {
				t.Fatalf("CheckFrame(%q) = %v; want ok %v", tt.frame, err, tt.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "server: ") {
				t.Errorf("CheckFrame(%q) = %q; want an error starting with \"server: \"", tt.frame, err)
			}
			if tt.ok {
				checkOneEvent(t, []byte(tt.frame))
			}
		})
	}
}

// checkOneEvent decodes frame behind the id line a broker writes: it must
// give exactly one event, with that ID and not a reserved type.
func checkOneEvent(t *testing.T, frame []byte) {
	t.Helper()
	const id = "e0-1"
	d := sse.NewDecoder(io.MultiReader(strings.NewReader("id: "+id+"\n"), bytes.NewReader(frame)))
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

// FuzzCheckFrame checks that no frame CheckFrame accepts reaches a client
// as anything but one event with the broker's ID.
func FuzzCheckFrame(f *testing.F) {
	for _, tt := range checkFrameCases {
		f.Add([]byte(tt.frame))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if server.CheckFrame(frame) == nil {
			checkOneEvent(t, frame)
		}
	})
}
