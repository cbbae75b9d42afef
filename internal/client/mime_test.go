package client_test

import (
	"strings"
	"testing"

	"github.com/ssekit/ssekit/internal/client"
)

var mediaTypeTests = []struct {
	in      string
	essence string
	ok      bool
}{
	{"text/event-stream", "text/event-stream", true},
	{"text/event-stream;", "text/event-stream", true},                       // WPT eventsource/format-mime-trailing-semicolon
	{"text/event-stream;charset=windows-1252", "text/event-stream", true},   // WPT eventsource/format-utf-8
	{"text/event-stream; charset=utf-8", "text/event-stream", true},         // parameters ignored
	{"Text/Event-Stream", "text/event-stream", true},                        // case-insensitive (whatwg/html#7630)
	{"  text/event-stream \t", "text/event-stream", true},                   // surrounding whitespace
	{"text/event-stream ;charset=x", "text/event-stream", true},             // whitespace before ;
	{"text/event-stream;;;=bogus", "text/event-stream", true},               // bad parameters never fail
	{"text/event-stream;charset=\"unterminated", "text/event-stream", true}, // nor unterminated quotes
	{"text/x-bogus", "text/x-bogus", true},                                  // a type, not ours (WPT eventsource/format-mime-valid-bogus)
	{"text/event-streamX", "text/event-streamx", true},                      // not a prefix match
	{"x bogus", "", false},                                                  // WPT eventsource/format-mime-bogus
	{"", "", false},                                                         // no content type
	{"text", "", false},
	{"text/", "", false},
	{"/event-stream", "", false},
	{"text /event-stream", "", false},
	{"text/ event-stream", "", false},
	{"text/event stream", "", false},
	{"text/event-stream, text/html", "", false}, // two headers joined by fetch
	{"tëxt/event-stream", "", false},
	{"text/event-stream\x00", "", false},
}

func TestMediaType(t *testing.T) {
	t.Parallel()
	for _, tt := range mediaTypeTests {
		essence, ok := client.MediaType(tt.in)
		if essence != tt.essence || ok != tt.ok {
			t.Errorf("MediaType(%q) = %q, %v; want %q, %v", tt.in, essence, ok, tt.essence, tt.ok)
		}
	}
}

func TestIsEventStream(t *testing.T) {
	t.Parallel()
	for _, tt := range mediaTypeTests {
		want := tt.ok && tt.essence == "text/event-stream"
		if got := client.IsEventStream(tt.in); got != want {
			t.Errorf("IsEventStream(%q) = %v; want %v", tt.in, got, want)
		}
	}
}

func FuzzMediaType(f *testing.F) {
	for _, tt := range mediaTypeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		essence, ok := client.MediaType(in)
		if !ok {
			if essence != "" {
				t.Fatalf("MediaType(%q) = %q, false; want \"\" when not ok", in, essence)
			}
			return
		}
		if essence != strings.ToLower(essence) {
			t.Fatalf("MediaType(%q) = %q; want lower case", in, essence)
		}
		// An essence is itself a MIME type with that essence.
		if again, ok := client.MediaType(essence); !ok || again != essence {
			t.Fatalf("MediaType(%q) = %q, %v; want %q, true (the essence of %q)", essence, again, ok, essence, in)
		}
		// Parameters never change the essence.
		if again, ok := client.MediaType(essence + ";" + in); !ok || again != essence {
			t.Fatalf("MediaType(%q) = %q, %v; want %q, true", essence+";"+in, again, ok, essence)
		}
	})
}
