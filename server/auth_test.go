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

// TestAuthError checks the refusals an AuthError describes: its status,
// reason and headers reach the client; its cause does not.
func TestAuthError(t *testing.T) {
	t.Parallel()
	secret := errors.New("token signature check failed: key k7")
	tests := []struct {
		name      string
		err       error
		status    int
		reason    string
		challenge string
	}{
		{"Unauthenticated", server.Unauthenticated("token expired", `Bearer realm="demo", error="invalid_token"`), 401, "token expired", `Bearer realm="demo", error="invalid_token"`},
		{"UnauthenticatedNoChallenge", server.Unauthenticated("log in first", ""), 401, "log in first", "Bearer"},
		{"PlainUnauthenticated", fmt.Errorf("no token: %w", server.ErrUnauthenticated), 401, "no token", "Bearer"},
		{"Forbidden", server.Forbidden("not your topic"), 403, "not your topic", ""},
		{"CauseHidden", &server.AuthError{Status: 401, Reason: "invalid token", Err: secret}, 401, "invalid token", "Bearer"},
		{"StatusText", &server.AuthError{Status: 404}, 404, "Not Found", ""},
		{"WrappedAuthError", fmt.Errorf("auth: %w", server.Forbidden("no")), 403, "no", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, nil, server.WithAuthorize(func(*http.Request, []string) error { return tt.err }))
			resp := do(t, "GET", h.url("a"), nil)
			challenge := resp.Header.Get("WWW-Authenticate")
			status, reason := refusal(t, resp)
			if status != tt.status || reason != tt.reason || challenge != tt.challenge {
				t.Errorf("Got(refusal) = %d %q, WWW-Authenticate %q; want %d %q, %q", status, reason, challenge, tt.status, tt.reason, tt.challenge)
			}
			if strings.Contains(reason, "k7") {
				t.Errorf("the client was shown the cause: %q", reason)
			}
		})
	}
}
