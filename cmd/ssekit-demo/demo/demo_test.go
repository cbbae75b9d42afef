package demo_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/cmd/ssekit-demo/demo"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
	"github.com/ssekit/ssekit/web/events"
)

// start runs m on a free loopback port until the test ends.
func start(t testing.TB, m *demo.Main) *demo.Main {
	t.Helper()
	m.Addr = "127.0.0.1:0"
	if m.Tick == 0 {
		m.Tick = -1 // no prices: tests look at chat
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func postChat(t testing.TB, base, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/api/chat", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST /api/chat: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// stream opens /events on topic chat, resuming after lastID when not
// empty, and returns a decoder positioned after the hello event.
func stream(t testing.TB, base, lastID string) (*sse.Decoder, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events?topic=chat", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /events: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET /events: %s", resp.Status)
	}
	d := sse.NewDecoder(resp.Body)
	if ev, err := d.Next(); err != nil || ev.Type != schema.HelloEvent {
		cancel()
		t.Fatalf("first event = %+v, %v; want %s", ev, err, schema.HelloEvent)
	}
	return d, func() { cancel(); resp.Body.Close() }
}

func nextChat(t testing.TB, d *sse.Decoder) (events.ChatMessage, string) {
	t.Helper()
	ev, err := d.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if ev.Type != events.Chat.Name() {
		t.Fatalf("event %+v; want %s", ev, events.Chat.Name())
	}
	msg, err := events.Chat.Decode([]byte(ev.Data))
	if err != nil {
		t.Fatal(err)
	}
	return msg, ev.ID
}

func TestChatValidation(t *testing.T) {
	m := start(t, &demo.Main{})
	long := strings.Repeat("x", demo.MaxTextLen+1)
	for _, tt := range []struct {
		name, body string
		status     int
		reason     string
	}{
		{"ok", `{"user":"ada","text":"hi"}`, http.StatusCreated, `"id"`},
		{"empty text", `{"user":"ada","text":"  "}`, http.StatusBadRequest, "text is empty"},
		{"empty user", `{"user":"","text":"hi"}`, http.StatusBadRequest, "user is empty"},
		{"long text", `{"user":"ada","text":"` + long + `"}`, http.StatusBadRequest, "longer than 500"},
		{"not JSON", `hello`, http.StatusBadRequest, "invalid JSON"},
		{"unknown field", `{"user":"a","text":"b","admin":true}`, http.StatusBadRequest, "unknown field"},
		{"empty body", ``, http.StatusBadRequest, "empty body"},
		{"too large", `{"user":"a","text":"` + strings.Repeat("y", 5000) + `"}`, http.StatusRequestEntityTooLarge, "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, reason := postChat(t, m.URL(), tt.body)
			if status != tt.status || !strings.Contains(reason, tt.reason) {
				t.Errorf("POST %.40q = %d %q; want %d with %q", tt.body, status, reason, tt.status, tt.reason)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	m := start(t, &demo.Main{})
	for _, tt := range []struct {
		path, want string
	}{
		{"/healthz", "ok"},
		{"/metrics", "ssekit_connections_open"},
		{"/", `id="status"`},
	} {
		resp, err := http.Get(m.URL() + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), tt.want) {
			t.Errorf("GET %s = %d, body without %q", tt.path, resp.StatusCode, tt.want)
		}
	}
	resp, err := http.Post(m.URL()+"/private/events", "application/json", strings.NewReader(`{"topics":["chat"]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(bufio.NewReader(resp.Body))
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "Authorization") {
		t.Errorf("POST /private/events without a token = %d %q; want 401 naming the header", resp.StatusCode, b)
	}
}

// TestNATSRestart checks that with an embedded JetStream server the demo's
// events survive a restart: a client that saw some messages, missed the
// next ones and reconnects to the restarted demo gets exactly those.
func TestNATSRestart(t *testing.T) {
	dir := t.TempDir()
	m1 := start(t, &demo.Main{NATSDir: dir})
	d, stop := stream(t, m1.URL(), "")
	for _, text := range []string{"one", "two"} {
		if status, reason := postChat(t, m1.URL(), `{"user":"ada","text":"`+text+`"}`); status != http.StatusCreated {
			t.Fatalf("post %q: %d %s", text, status, reason)
		}
	}
	var last string
	for _, want := range []string{"one", "two"} {
		msg, id := nextChat(t, d)
		if msg.Text != want {
			t.Fatalf("got %q; want %q", msg.Text, want)
		}
		last = id
	}
	stop()
	for _, text := range []string{"three", "four"} { // missed by the client
		if status, reason := postChat(t, m1.URL(), `{"user":"ada","text":"`+text+`"}`); status != http.StatusCreated {
			t.Fatalf("post %q: %d %s", text, status, reason)
		}
	}
	if err := m1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	m2 := start(t, &demo.Main{NATSDir: dir})
	d, stop = stream(t, m2.URL(), last)
	defer stop()
	for _, want := range []string{"three", "four"} {
		msg, _ := nextChat(t, d)
		if msg.Text != want {
			t.Fatalf("after restart got %q; want %q (lost or reset)", msg.Text, want)
		}
	}
	if status, _ := postChat(t, m2.URL(), `{"user":"ada","text":"five"}`); status != http.StatusCreated {
		t.Fatal("post after restart failed")
	}
	if msg, _ := nextChat(t, d); msg.Text != "five" {
		t.Fatalf("live after replay: got %q; want five", msg.Text)
	}
}
