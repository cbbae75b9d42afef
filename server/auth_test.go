package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/server"
)

// authorize lets anyone with a token read public topics, and only "admin"
// read "private".
func authorize(r *http.Request, topics []string) error {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || token == "":
		return fmt.Errorf("no bearer token: %w", server.ErrUnauthenticated)
	case token == "expired":
		return fmt.Errorf("token expired: %w", server.ErrUnauthenticated)
	case slices.Contains(topics, "private") && token != "admin":
		return errors.New("topic private needs the admin role")
	}
	return nil
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	h := start(t, nil, nil, server.WithAuthorize(authorize))
	tests := []struct {
		name   string
		auth   string
		topics []string
		status int
		reason string
	}{
		{"NoToken", "", []string{"a"}, 401, "no bearer token"},
		{"NotBearer", "Basic dXNlcjpwYXNz", []string{"a"}, 401, "no bearer token"},
		{"Expired", "Bearer expired", []string{"a"}, 401, "token expired"},
		{"Forbidden", "Bearer user", []string{"a", "private"}, 403, "topic private needs the admin role"},
		{"User", "Bearer user", []string{"a"}, 200, ""},
		{"Admin", "Bearer admin", []string{"a", "private"}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header := http.Header{}
			if tt.auth != "" {
				header.Set("Authorization", tt.auth)
			}
			if tt.status == http.StatusOK {
				connect(t, h.url(tt.topics...), header)
				return
			}
			status, reason := refusal(t, do(t, "GET", h.url(tt.topics...), header))
			if status != tt.status || !strings.Contains(reason, tt.reason) {
				t.Errorf("Got(GET %q as %q) = %d %q; want %d with %q", tt.topics, tt.auth, status, reason, tt.status, tt.reason)
			}
		})
	}
}

// TestAuthorizeAfterTopics checks that bad topics are refused before the
// hook runs, so that it only ever sees valid ones.
func TestAuthorizeAfterTopics(t *testing.T) {
	t.Parallel()
	called := make(chan []string, 1)
	h := start(t, nil, nil, server.WithAllowedTopics("a"), server.WithAuthorize(func(r *http.Request, topics []string) error {
		called <- topics
		return nil
	}))
	if status, _ := refusal(t, do(t, "GET", h.url("b"), nil)); status != http.StatusBadRequest {
		t.Fatalf("Got(GET ?topic=b) = %d; want 400", status)
	}
	select {
	case topics := <-called:
		t.Fatalf("the hook ran for refused topics %q", topics)
	default:
	}
}
