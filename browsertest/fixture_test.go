package browsertest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/browsertest"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// fixtureServer serves a Fixture under /_fixture/, as the runner does.
func fixtureServer(t *testing.T) string {
	t.Helper()
	f := browsertest.NewFixture()
	mux := http.NewServeMux()
	mux.Handle("/_fixture/", http.StripPrefix("/_fixture", f))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		f.Close()
		srv.Close()
	})
	return srv.URL + "/_fixture"
}

func do(t *testing.T, ctx context.Context, method, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFixtureScript(t *testing.T) {
	t.Parallel()
	base := fixtureServer(t)
	ctx := testContext(t)
	script := `[
		{"body": "data: a\n\n"},
		{"status": 503, "headers": {"Retry-After": "2"}, "body": "busy"},
		{"noContentType": true, "body": "data: b\n\n"},
		{"contentType": "text/html", "bytes": "/w=="}
	]`
	if resp := do(t, ctx, "POST", base+"/script/k", script, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /script/k = %s; want 204: %s", resp.Status, readAll(t, resp))
	}
	tests := []struct {
		status      int
		contentType string
		header      string // Retry-After
		body        string
	}{
		{200, "text/event-stream", "", "data: a\n\n"},
		{503, "text/event-stream", "2", "busy"},
		{200, "", "", "data: b\n\n"},
		{200, "text/html", "", "\xff"},
		{204, "", "", ""}, // the script is used up
		{204, "", "", ""},
	}
	for i, tt := range tests {
		resp := do(t, ctx, "POST", base+"/stream/k?n=1", "body "+string(rune('0'+i)), map[string]string{
			"Last-Event-ID": "id-1", "Authorization": "Bearer x",
		})
		body := readAll(t, resp)
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.contentType ||
			resp.Header.Get("Retry-After") != tt.header || body != tt.body {
			t.Errorf("request %d = %d %q %q %q; want %d %q %q %q", i, resp.StatusCode, resp.Header.Get("Content-Type"),
				resp.Header.Get("Retry-After"), body, tt.status, tt.contentType, tt.header, tt.body)
		}
	}
	var reqs []browsertest.FixtureRequest
	if err := json.Unmarshal([]byte(readAll(t, do(t, ctx, "GET", base+"/requests/k", "", nil))), &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != len(tests) {
		t.Fatalf("GET /requests/k: %d requests; want %d", len(reqs), len(tests))
	}
	r := reqs[1]
	if r.Method != "POST" || r.URL != "/_fixture/stream/k?n=1" || r.Body != "body 1" ||
		r.Header["Last-Event-Id"] != "id-1" || r.Header["Authorization"] != "Bearer x" || r.Time.IsZero() {
		t.Errorf("GET /requests/k: request 1 = %+v; want POST /_fixture/stream/k?n=1 with its body and headers", r)
	}
	// A key never scripted answers 204 and is recorded; a replaced script
	// forgets the requests.
	if resp := do(t, ctx, "GET", base+"/stream/other", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET /stream/other = %s; want 204", resp.Status)
	}
	do(t, ctx, "POST", base+"/script/k", "[]", nil).Body.Close()
	if got := readAll(t, do(t, ctx, "GET", base+"/requests/k", "", nil)); strings.TrimSpace(got) != "[]" {
		t.Errorf("GET /requests/k after a new script = %s; want []", got)
	}
	if resp := do(t, ctx, "POST", base+"/script/bad", "{", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /script/bad with malformed JSON = %s; want 400", resp.Status)
	}
}

func TestFixtureHold(t *testing.T) {
	t.Parallel()
	base := fixtureServer(t)
	ctx := testContext(t)
	do(t, ctx, "POST", base+"/script/h", `[{"body": "data: held\n\n", "hold": true}]`, nil).Body.Close()
	resp := do(t, ctx, "GET", base+"/stream/h", "", nil)
	defer resp.Body.Close()
	d := sse.NewDecoder(resp.Body)
	ev, err := d.Next()
	if err != nil || ev.Data != "held" {
		t.Fatalf("first event = %+v, %v; want data \"held\"", ev, err)
	}
	do(t, ctx, "DELETE", base+"/script/h", "", nil).Body.Close()
	if ev, err := d.Next(); err != io.EOF {
		t.Fatalf("Next after DELETE /script/h = %+v, %v; want io.EOF", ev, err)
	}
}

func TestFixtureSSEKit(t *testing.T) {
	t.Parallel()
	base := fixtureServer(t)
	ctx := testContext(t)
	open := func(lastID string) (*http.Response, *sse.Decoder) {
		t.Helper()
		h := map[string]string{}
		if lastID != "" {
			h["Last-Event-ID"] = lastID
		}
		resp := do(t, ctx, "GET", base+"/ssekit/events?topic=t&key=kit", "", h)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /ssekit/events = %s: %s", resp.Status, readAll(t, resp))
		}
		d := sse.NewDecoder(resp.Body)
		ev, err := d.Next()
		if err != nil || ev.Type != schema.HelloEvent {
			t.Fatalf("first event = %+v, %v; want the hello", ev, err)
		}
		if retry, ok := d.Retry(); !ok || retry != browsertest.FixtureRetry {
			t.Errorf("retry = %v, %v; want %v", retry, ok, browsertest.FixtureRetry)
		}
		return resp, d
	}
	publish := func(data string) string {
		t.Helper()
		resp := do(t, ctx, "POST", base+"/ssekit/publish?topic=t&type=note", data, nil)
		id := readAll(t, resp)
		if resp.StatusCode != 200 || id == "" {
			t.Fatalf("POST /ssekit/publish = %s %q; want 200 and an ID", resp.Status, id)
		}
		return id
	}

	resp, d := open("")
	id1 := publish("one")
	ev, err := d.Next()
	if err != nil || ev != (sse.Event{Type: "note", Data: "one", ID: id1}) {
		t.Fatalf("live event = %+v, %v; want note \"one\" with ID %s", ev, err, id1)
	}
	do(t, ctx, "POST", base+"/ssekit/disconnect", "", nil).Body.Close()
	if ev, err := d.Next(); err != io.EOF {
		t.Fatalf("Next after disconnect = %+v, %v; want io.EOF", ev, err)
	}
	resp.Body.Close()

	id2 := publish("two") // missed while disconnected
	resp, d = open(id1)
	defer resp.Body.Close()
	ev, err = d.Next()
	if err != nil || ev != (sse.Event{Type: "note", Data: "two", ID: id2}) {
		t.Fatalf("replayed event = %+v, %v; want note \"two\" with ID %s", ev, err, id2)
	}

	var reqs []browsertest.FixtureRequest
	if err := json.Unmarshal([]byte(readAll(t, do(t, ctx, "GET", base+"/requests/kit", "", nil))), &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || reqs[0].Header["Last-Event-Id"] != "" || reqs[1].Header["Last-Event-Id"] != id1 {
		t.Errorf("GET /requests/kit = %+v; want two requests, the second with Last-Event-ID %s", reqs, id1)
	}
}
