package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The server renders the pages in advance, without a stream (go-app does
// not mount components on the server), serves the stream, and a service
// worker that leaves the stream alone.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := startServer(t, &Main{WebDir: dir, Interval: 10 * time.Millisecond})

	tests := []struct {
		path, contentType string
		want              []string
	}{
		{"/", "text/html", []string{`id="home"`, `href="/live"`}},
		{"/live", "text/html", []string{`id="counter"`, `data-state="connecting"`, `<ul id="ticks"></ul>`}},
		{"/web/app.wasm", "application/wasm", []string{"\x00asm"}},
		{"/app-worker.js", "application/javascript", []string{`"text/event-stream"`}},
		{"/static/example.css", "text/css", []string{"#ticks"}},
	}
	for _, tt := range tests {
		resp, err := http.Get(m.URL() + tt.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, tt.contentType) {
			t.Errorf("GET %s = %d, %s; want 200, %s", tt.path, resp.StatusCode, ct, tt.contentType)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("GET %s: body has no %q", tt.path, w)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/events?topic=counter", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if lines.Text() == "event: counter.tick" {
			return
		}
	}
	t.Fatalf("GET /events: no counter.tick event before %v", lines.Err())
}
