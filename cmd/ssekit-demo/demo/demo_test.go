package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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
		{"/", `rel="icon" href="favicon.svg"`},
		{"/favicon.svg", "<svg"},
		{"/api/snapshot", `"id":"`},
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
}

// TestMetrics: /metrics exports both of the demo's streams.
func TestMetrics(t *testing.T) {
	m := start(t, &demo.Main{})
	_, stop := stream(t, m.URL(), "")
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL()+"/private/events", strings.NewReader(`{"topics":["chat"]}`))
	req.Header.Set("Authorization", "Bearer demo")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ev, err := sse.NewDecoder(resp.Body).Next(); err != nil || ev.Type != schema.HelloEvent {
		t.Fatalf("POST /private/events: first event = %+v, %v; want the hello", ev, err)
	}
	resp, err = http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`ssekit_connections_open{server="events"} 1`,
		`ssekit_connections_open{server="private"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("GET /metrics: no line %q", want)
		}
	}
}

// TestToken: /private/events lets a request through with the bearer
// token, and refuses others with 401, a WWW-Authenticate challenge and a
// reason; SetToken rotates the token.
func TestToken(t *testing.T) {
	m := start(t, &demo.Main{Token: "s3cret"})
	open := func(auth string) (int, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL()+"/private/events", strings.NewReader(`{"topics":["chat"]}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return resp.StatusCode, "", ""
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), strings.TrimSpace(string(b))
	}
	for _, tt := range []struct {
		name, auth, reason string
	}{
		{"none", "", "no token"},
		{"wrong", "Bearer demo", "invalid token"},
		{"not bearer", "Basic czNjcmV0", "not a bearer token"},
	} {
		status, challenge, reason := open(tt.auth)
		if status != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer ") || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: POST /private/events = %d, WWW-Authenticate %q, %q; want 401, a Bearer challenge, %q", tt.name, status, challenge, reason, tt.reason)
		}
	}
	if status, _, reason := open("Bearer s3cret"); status != http.StatusOK {
		t.Errorf("with the token: %d %q; want 200", status, reason)
	}
	m.SetToken("n3w")
	if status, _, _ := open("Bearer s3cret"); status != http.StatusUnauthorized {
		t.Errorf("the old token after SetToken: %d; want 401", status)
	}
	if status, _, reason := open("Bearer n3w"); status != http.StatusOK {
		t.Errorf("the new token: %d %q; want 200", status, reason)
	}
}

// postKey posts body to /api/chat with an Idempotency-Key.
func postKey(t testing.TB, base, key, body string) (status int, id string, replayed bool) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/chat", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/chat: %v", err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	return resp.StatusCode, out.ID, resp.Header.Get("Idempotent-Replayed") == "true"
}

// TestChatIdempotency: a post retried with its Idempotency-Key gets the
// first answer and publishes nothing, even when the retries race; a key
// reused for another message, or malformed, is refused.
func TestChatIdempotency(t *testing.T) {
	m := start(t, &demo.Main{})
	d, stop := stream(t, m.URL(), "")
	defer stop()

	status, first, replayed := postKey(t, m.URL(), "k1", `{"user":"ada","text":"once"}`)
	if status != http.StatusCreated || first == "" || replayed {
		t.Fatalf("first post = %d %q replayed %v; want 201 with an ID", status, first, replayed)
	}
	const retries = 8
	var wg sync.WaitGroup
	for range retries {
		wg.Go(func() {
			if status, id, replayed := postKey(t, m.URL(), "k1", `{"user":"ada","text":"once"}`); status != http.StatusCreated || id != first || !replayed {
				t.Errorf("retry = %d %q replayed %v; want 201 %q replayed", status, id, replayed, first)
			}
		})
	}
	// Concurrent first posts of a new key: one publishes, the others wait
	// for it and answer the same.
	ids := make(chan string, retries)
	for range retries {
		wg.Go(func() {
			_, id, _ := postKey(t, m.URL(), "k2", `{"user":"ada","text":"twice?"}`)
			ids <- id
		})
	}
	wg.Wait()
	close(ids)
	var k2 string
	for id := range ids {
		if k2 == "" {
			k2 = id
		}
		if id == "" || id != k2 {
			t.Errorf("concurrent posts of one key got IDs %q and %q; want one ID", k2, id)
		}
	}
	if status, _, _ := postKey(t, m.URL(), "k1", `{"user":"ada","text":"something else"}`); status != http.StatusUnprocessableEntity {
		t.Errorf("k1 with another message = %d; want 422", status)
	}
	for _, key := range []string{"", strings.Repeat("k", demo.MaxIdempotencyKeyLen+1), "a key"} {
		if status, _, _ := postKey(t, m.URL(), key, `{"user":"ada","text":"x"}`); status != http.StatusBadRequest {
			t.Errorf("Idempotency-Key %q = %d; want 400", key, status)
		}
	}
	post := func(text string) {
		t.Helper()
		if status, reason := postChat(t, m.URL(), `{"user":"ada","text":"`+text+`"}`); status != http.StatusCreated {
			t.Fatalf("post %q: %d %s", text, status, reason)
		}
	}
	post("last")
	for _, want := range []string{"once", "twice?", "last"} {
		if msg, _ := nextChat(t, d); msg.Text != want {
			t.Fatalf("stream: %q; want %q (each message once)", msg.Text, want)
		}
	}
}

// TestSnapshot: a snapshot and its cursor are read together: the stream
// from the cursor goes on exactly after the snapshot's last message, while
// messages are published all along.
func TestSnapshot(t *testing.T) {
	m := start(t, &demo.Main{Tick: time.Hour}) // the opening prices, then no tick
	const n = 400
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			select {
			case <-quit:
				return
			default:
			}
			resp, err := http.Post(m.URL()+"/api/chat", "application/json", strings.NewReader(fmt.Sprintf(`{"user":"bot","text":"m%03d"}`, i)))
			if err != nil {
				t.Errorf("post %d: %v", i, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("post %d: %s", i, resp.Status)
				return
			}
		}
	}()
	defer func() { close(quit); <-done }()
	snapshot := func() events.Snapshot {
		t.Helper()
		resp, err := http.Get(m.URL() + "/api/snapshot")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s events.Snapshot
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatalf("GET /api/snapshot: %v", err)
		}
		return s
	}
	number := func(text string) int {
		t.Helper()
		var i int
		if _, err := fmt.Sscanf(text, "m%d", &i); err != nil {
			t.Fatalf("message %q", text)
		}
		return i
	}
	// The opening prices are published as the demo starts, and the
	// view folds them in on its own goroutine: wait for them.
	for deadline := time.Now().Add(10 * time.Second); len(snapshot().Prices) != len(demo.Symbols); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s the snapshot has not the opening price of the %d symbols", len(demo.Symbols))
		}
		time.Sleep(5 * time.Millisecond)
	}
	checked := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		s := snapshot()
		if len(s.Prices) != len(demo.Symbols) {
			t.Fatalf("snapshot has %d prices; want %d", len(s.Prices), len(demo.Symbols))
		}
		next := 0
		for i, c := range s.Chat {
			if i > 0 && number(c.Text) != number(s.Chat[i-1].Text)+1 {
				t.Fatalf("snapshot chat %q after %q", c.Text, s.Chat[i-1].Text)
			}
			next = number(c.Text) + 1
		}
		if len(s.Chat) > demo.ChatHistory {
			t.Fatalf("snapshot has %d messages; want at most %d", len(s.Chat), demo.ChatHistory)
		}
		if next == n {
			break
		}
		d, stop := stream(t, m.URL(), s.ID)
		msg, _ := nextChat(t, d)
		stop()
		if got := number(msg.Text); got != next {
			t.Fatalf("snapshot at %s ends before m%03d; its stream goes on with %q (a gap or a duplicate)", s.ID, next, msg.Text)
		}
		checked++
	}
	t.Logf("%d snapshots checked", checked)
}

// TestNames: a stream's user is its user parameter, else its user cookie,
// else its guest parameter, else a new guest name.
func TestNames(t *testing.T) {
	m := start(t, &demo.Main{})
	for _, tt := range []struct {
		name, query, cookie, want string
	}{
		{"user", "user=ana&guest=guest-00aa11", "bo", "ana"},
		{"cookie", "guest=guest-00aa11", "bo", "bo"},
		{"guest", "guest=guest-00aa11", "", "guest-00aa11"},
		{"bad guest", "guest=guest-XYZ", "", ""},
		{"long user", "user=" + strings.Repeat("x", demo.MaxUserLen+1) + "&guest=guest-00aa11", "", "guest-00aa11"},
		{"nobody", "", "", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, m.URL()+"/api/snapshot?"+tt.query, nil)
		if tt.cookie != "" {
			req.AddCookie(&http.Cookie{Name: "user", Value: tt.cookie})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var s events.Snapshot
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err != nil || s.You != tt.want {
			t.Errorf("%s: GET /api/snapshot?%s: you = %q, %v; want %q", tt.name, tt.query, s.You, err, tt.want)
		}
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
