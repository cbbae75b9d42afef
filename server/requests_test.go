package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// TestBadRequests sends every kind of request the handler refuses: each gets
// its status and a plain-text reason, and the server goes on serving.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	allowed := []string{"a", "b", "c", "d", "e"}
	h := start(t, nil, nil, server.WithAllowedTopics(allowed...), server.WithMaxTopics(4))
	tests := []struct {
		name   string
		method string
		query  string
		status int
		reason string // a part of the reason
	}{
		{"NoTopic", "GET", "", 400, "no topic"},
		{"OtherParameter", "GET", "?topics=a", 400, "no topic"},
		{"Semicolon", "GET", "?topic=a;topic=b", 400, "semicolon"},
		{"BadEscape", "GET", "?topic=%zz", 400, `invalid URL escape "%zz"`},
		{"EmptyTopic", "GET", "?topic=", 400, "empty topic"},
		{"Space", "GET", "?topic=a%20b", 400, "space"},
		{"ControlCharacter", "GET", "?topic=a%07", 400, "control character"},
		{"InvalidUTF8", "GET", "?topic=%ff", 400, "UTF-8"},
		{"TooLong", "GET", "?topic=" + strings.Repeat("x", server.MaxTopicLen+1), 400, "longer than 128"},
		{"TooMany", "GET", "?topic=a&topic=b&topic=c&topic=d&topic=e", 400, "too many topics"},
		{"Duplicate", "GET", "?topic=a&topic=b&topic=a", 400, `topic "a" named twice`},
		{"NotAllowed", "GET", "?topic=a&topic=secret", 400, `unknown topic "secret"`},
		{"POST", "POST", "?topic=a", 405, "method POST not allowed"},
		{"PUT", "PUT", "?topic=a", 405, "method PUT not allowed"},
		{"DELETE", "DELETE", "?topic=a", 405, "method DELETE not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := do(t, tt.method, h.ts.URL+"/"+tt.query, nil)
			allow := resp.Header.Get("Allow")
			status, reason := refusal(t, resp)
			if status != tt.status || !strings.Contains(reason, tt.reason) {
				t.Errorf("Got(%s %q) = %d %q; want %d with %q", tt.method, tt.query, status, reason, tt.status, tt.reason)
			}
			if status == http.StatusMethodNotAllowed && allow != "GET" {
				t.Errorf("Got(%s %q Allow) = %q; want GET", tt.method, tt.query, allow)
			}
		})
	}
	// A Last-Event-ID of 10 KB is not an error: the client gets a reset
	// and a stream, since a browser would only retry the same header.
	t.Run("HugeLastEventID", func(t *testing.T) {
		t.Parallel()
		s := connect(t, h.url("a"), http.Header{"Last-Event-Id": {strings.Repeat("9", 10<<10)}})
		if got := reset(t, s.next()); got != schema.ResetTooLong {
			t.Errorf("Got(reset reason for a 10 KB Last-Event-ID) = %q; want %q", got, schema.ResetTooLong)
		}
	})
}

// TestServesAfterBadRequests checks that refusals leave nothing behind.
func TestServesAfterBadRequests(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil, server.WithMaxConnections(0, 2))
	for _, q := range []string{"", "?topic=", "?topic=a%20b", "?topic=a&topic=a"} {
		for range 10 { // more than the per-IP cap: refused requests hold no slot
			status, _ := refusal(t, do(t, "GET", h.ts.URL+"/"+q, nil))
			if status != http.StatusBadRequest {
				t.Fatalf("Got(GET %q) = %d; want 400", q, status)
			}
		}
	}
	status, _ := refusal(t, do(t, "POST", h.url("a"), nil))
	if status != http.StatusMethodNotAllowed {
		t.Fatalf("Got(POST) = %d; want 405", status)
	}
	s := connect(t, h.url("a"), nil)
	h.publish(t, "a", 7)
	if got := s.cents(); got != 7 {
		t.Fatalf("Got(event after bad requests) = %d; want 7", got)
	}
	if st := h.srv.Stats(); st.Rejected != 41 || st.Open != 1 || st.Connections != 1 {
		t.Errorf("Got(Stats()) = %+v; want Rejected 41, Open 1, Connections 1", st)
	}
}

// TestTopicsFromRequest replaces the topic rule, here with a path value
// under net/http's ServeMux.
func TestTopicsFromRequest(t *testing.T) {
	t.Parallel()
	b := server.NewMemoryBroker()
	t.Cleanup(func() { b.Close() })
	srv := server.New(b, server.WithLogger(quiet), server.WithTopics(func(r *http.Request) ([]string, error) {
		room := r.PathValue("room")
		if room == "closed" {
			return nil, errorString("room closed is closed")
		}
		return []string{"room." + room}, nil
	}), server.WithAllowedTopics("room.lobby", "room.closed", "room.kitchen"))
	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}/events", srv)
	h := &harness{broker: b, srv: srv}
	h.ts = startHTTP(t, mux, srv)

	tests := []struct {
		room   string
		status int
		reason string
	}{
		{"lobby", 200, ""},
		{"kitchen", 200, ""},
		{"closed", 400, "room closed is closed"},
		{"attic", 400, `unknown topic "room.attic"`},
	}
	for _, tt := range tests {
		t.Run(tt.room, func(t *testing.T) {
			t.Parallel()
			target := h.ts.URL + "/rooms/" + tt.room + "/events"
			if tt.status != http.StatusOK {
				status, reason := refusal(t, do(t, "GET", target, nil))
				if status != tt.status || !strings.Contains(reason, tt.reason) {
					t.Errorf("Got(GET %s) = %d %q; want %d with %q", target, status, reason, tt.status, tt.reason)
				}
				return
			}
			s := connect(t, target, nil)
			h.publish(t, "room."+tt.room, 1)
			if got := s.cents(); got != 1 {
				t.Errorf("Got(event in room %s) = %d; want 1", tt.room, got)
			}
		})
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// startHTTP serves h on httptest, shutting srv down first at cleanup.
func startHTTP(t testing.TB, h http.Handler, srv *server.Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ts
}

// TestMethods opens a stream with POST when WithMethods allows it, reading
// the topics from the body as a fetch() client would send them.
func TestMethods(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil, server.WithMethods(http.MethodGet, http.MethodPost), server.WithTopics(func(r *http.Request) ([]string, error) {
		if r.Method == http.MethodGet {
			return server.QueryTopics(r)
		}
		var body struct{ Topics []string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, err
		}
		return body.Topics, nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.ts.URL+"/", strings.NewReader(`{"Topics":["a"]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Got(POST status) = %d; want 200", resp.StatusCode)
	}
	s := &stream{t: t, resp: resp, dec: sse.NewDecoder(resp.Body), cancel: cancel}
	if ev := s.next(); ev.Type != schema.HelloEvent {
		t.Fatalf("first event = %+v; want hello", ev)
	}
	h.publish(t, "a", 3)
	if got := s.cents(); got != 3 {
		t.Fatalf("Got(event on a POST stream) = %d; want 3", got)
	}

	resp = do(t, http.MethodPut, h.url("a"), nil)
	allow := resp.Header.Get("Allow")
	if status, reason := refusal(t, resp); status != 405 || allow != "GET, POST" || !strings.Contains(reason, "use GET or POST") {
		t.Errorf("Got(PUT) = %d %q, Allow %q; want 405, GET, POST", status, reason, allow)
	}
}

// TestOnConnect checks the connect hook: it sees the request's topics once
// the stream is subscribed, and its close function runs when the stream
// ends.
func TestOnConnect(t *testing.T) {
	t.Parallel()
	connected := make(chan []string, 1)
	closed := make(chan struct{})
	b := server.NewMemoryBroker()
	h := start(t, b, nil, server.WithOnConnect(func(r *http.Request, topics []string) func() {
		// Published from the hook, it reaches the new stream.
		if _, err := server.Publish(r.Context(), b, "a", priceTick, Price{Cents: 42}); err != nil {
			t.Errorf("Publish from the hook: %v", err)
		}
		connected <- topics
		return func() { close(closed) }
	}))
	s := connect(t, h.url("a", "b"), nil)
	if got := <-connected; !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Got(hook topics) = %q; want [a b]", got)
	}
	if got := s.cents(); got != 42 {
		t.Errorf("Got(event published by the hook) = %d; want 42", got)
	}
	s.close()
	select {
	case <-closed:
	case <-time.After(timeout):
		t.Fatal("the hook's close function did not run after the client went")
	}
}

// TestOnConnectDoesNotDelayStream blocks the connect hook, as one that
// publishes to a broker on the network waits for a round trip: the
// stream's headers, hello and replay must not wait for it.
func TestOnConnectDoesNotDelayStream(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	closed := make(chan struct{})
	h := start(t, nil, nil, server.WithOnConnect(func(r *http.Request, topics []string) func() {
		<-release
		return func() { close(closed) }
	}))
	first := h.publish(t, "a", 0)
	h.publish(t, "a", 1)
	s := connect(t, h.url("a"), http.Header{"Last-Event-Id": {first}}) // headers and hello
	if got := s.cents(); got != 1 {                                    // and the replay
		t.Fatalf("Got(replayed event while the hook blocks) = %d; want 1", got)
	}
	h.publish(t, "a", 2) // and live events
	if got := s.cents(); got != 2 {
		t.Fatalf("Got(live event while the hook blocks) = %d; want 2", got)
	}
	s.close()
	select {
	case <-closed:
		t.Fatal("the close function ran before the hook returned")
	default:
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(timeout):
		t.Fatal("the hook's close function did not run")
	}
}
