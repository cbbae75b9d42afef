package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPageServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wasm := filepath.Join(dir, "prog.test")
	if err := os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := startPageServer(wasm, []byte("// glue"), pageConfig{Argv: []string{"prog"}, Cwd: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	origin := base.Scheme + "://" + base.Host

	tests := []struct {
		url         string
		wantStatus  int
		wantType    string
		wantBody    string // prefix
		wantEntries string // for listings: "name/ name ..."
	}{
		{url: srv.URL, wantStatus: 200, wantType: "text/html; charset=utf-8", wantBody: "<!doctype html>"},
		{url: srv.URL + "program.wasm", wantStatus: 200, wantType: "application/wasm", wantBody: "\x00asm"},
		{url: srv.URL + "config.js", wantStatus: 200, wantBody: `globalThis.goWasmExec = {"argv":["prog"]`},
		{url: srv.URL + "wasm_exec.js", wantStatus: 200, wantBody: "// glue"},
		{url: origin + "/program.wasm", wantStatus: 404}, // no token, no file
		{url: origin + "/config.js", wantStatus: 404},
		{url: origin + "/fs?p=" + url.QueryEscape(dir), wantStatus: 404},
		{url: srv.URL + "fs?p=" + url.QueryEscape(dir), wantStatus: 200, wantEntries: "prog.test sub/"},
		{url: srv.URL + "fs?p=" + url.QueryEscape(wasm), wantStatus: 200, wantBody: "\x00asm"},
		{url: srv.URL + "fs?p=" + url.QueryEscape(filepath.Join(dir, "missing")), wantStatus: 404},
		{url: srv.URL + "fs?p=relative/path", wantStatus: 400},
		{url: srv.URL + "fs?p=" + url.QueryEscape(dir+"/sub/../prog.test"), wantStatus: 400},
		{url: srv.URL + "fs?p=/dev/null", wantStatus: 403},
	}
	for _, tt := range tests {
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("GET %s: status %d; want %d", tt.url, resp.StatusCode, tt.wantStatus)
			continue
		}
		if got := resp.Header.Get("Content-Type"); tt.wantType != "" && got != tt.wantType {
			t.Errorf("GET %s: Content-Type %q; want %q", tt.url, got, tt.wantType)
		}
		if !strings.HasPrefix(string(body), tt.wantBody) {
			t.Errorf("GET %s: body %.80q; want it to start with %q", tt.url, body, tt.wantBody)
		}
		if tt.wantEntries != "" {
			var entries []hostEntry
			if err := json.Unmarshal(body, &entries); err != nil {
				t.Fatalf("GET %s: %v", tt.url, err)
			}
			var names []string
			for _, e := range entries {
				if e.Dir {
					e.Name += "/"
				}
				names = append(names, e.Name)
			}
			if got := strings.Join(names, " "); got != tt.wantEntries {
				t.Errorf("GET %s: entries %q; want %q", tt.url, got, tt.wantEntries)
			}
		}
	}
}
