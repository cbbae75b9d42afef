package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/server/cors"
)

const app = "https://app.example"

// TestCORS checks preflights and actual requests from pages of other
// origins: what a cross-origin EventSource, with or without credentials, and
// a preflight for Last-Event-ID need (WPT eventsource/request-credentials,
// eventsource/eventsource-cross-origin and
// eventsource/eventsource-cross-origin-preflight).
func TestCORS(t *testing.T) {
	t.Parallel()
	credentialed := start(t, nil, cors.Handler(cors.Options{
		AllowedOrigins:   []string{app},
		AllowCredentials: true,
		AllowedHeaders:   []string{"Authorization"},
	}))
	anyOrigin := start(t, nil, cors.Handler(cors.Options{AllowedOrigins: []string{"*"}}))
	preflight := func(origin, headers string) http.Header {
		return http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {headers}}
	}
	tests := []struct {
		name   string
		h      *harness
		method string
		header http.Header
		want   map[string]string // response headers; "" means absent
	}{
		{"PreflightLastEventID", credentialed, "OPTIONS", preflight(app, "last-event-id"), map[string]string{
			"Access-Control-Allow-Origin":      app,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "GET",
			"Access-Control-Allow-Headers":     "Last-Event-Id",
			"Access-Control-Max-Age":           "600",
		}},
		{"PreflightFetchHeaders", credentialed, "OPTIONS", preflight(app, "last-event-id, authorization, cache-control"), map[string]string{
			"Access-Control-Allow-Origin":  app,
			"Access-Control-Allow-Headers": "Last-Event-Id, Authorization, Cache-Control",
		}},
		{"PreflightHeaderNotAllowed", credentialed, "OPTIONS", preflight(app, "last-event-id, x-secret"), map[string]string{
			"Access-Control-Allow-Origin": "",
		}},
		{"PreflightOtherOrigin", credentialed, "OPTIONS", preflight("https://evil.example", "last-event-id"), map[string]string{
			"Access-Control-Allow-Origin":      "",
			"Access-Control-Allow-Credentials": "",
		}},
		{"Stream", credentialed, "GET", http.Header{"Origin": {app}}, map[string]string{
			"Access-Control-Allow-Origin":      app,
			"Access-Control-Allow-Credentials": "true",
			"Vary":                             "Origin",
			"Content-Type":                     "text/event-stream",
		}},
		{"StreamOtherOrigin", credentialed, "GET", http.Header{"Origin": {"https://evil.example"}}, map[string]string{
			"Access-Control-Allow-Origin":      "",
			"Access-Control-Allow-Credentials": "",
		}},
		{"StreamSameOrigin", credentialed, "GET", nil, map[string]string{
			"Access-Control-Allow-Origin": "",
			"Content-Type":                "text/event-stream",
		}},
		{"AnyOriginPreflight", anyOrigin, "OPTIONS", preflight("https://any.example", "last-event-id"), map[string]string{
			"Access-Control-Allow-Origin":      "*",
			"Access-Control-Allow-Credentials": "",
			"Access-Control-Allow-Headers":     "Last-Event-Id",
		}},
		{"AnyOriginStream", anyOrigin, "GET", http.Header{"Origin": {"https://any.example"}}, map[string]string{
			"Access-Control-Allow-Origin":      "*",
			"Access-Control-Allow-Credentials": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got http.Header
			if tt.method == "GET" {
				s := connect(t, tt.h.url("a"), tt.header) // the stream itself works
				got = s.resp.Header
			} else {
				resp := do(t, tt.method, tt.h.url("a"), tt.header)
				got = resp.Header
				if status, body := refusal(t, resp); status != http.StatusOK {
					t.Errorf("Got(preflight status) = %d %q; want 200", status, body)
				}
			}
			for k, want := range tt.want {
				if v := strings.Join(got.Values(k), ", "); v != want && !(k == "Vary" && strings.Contains(v, want)) {
					t.Errorf("Got(%s) = %q; want %q", k, v, want)
				}
			}
		})
	}
}

// TestCORSPanics checks the options a browser would reject.
func TestCORSPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts cors.Options
		want string
	}{
		{"NoOrigins", cors.Options{}, "no allowed origins"},
		{"CredentialsAnyOrigin", cors.Options{AllowedOrigins: []string{app, "*"}, AllowCredentials: true}, "credentials need explicit origins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tt.want) {
					t.Errorf("Got(CORS(%+v) panic) = %v; want %q", tt.opts, r, tt.want)
				}
			}()
			cors.Handler(tt.opts)
		})
	}
}
