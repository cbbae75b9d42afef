package demo

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ssekit/ssekit/server"
)

// tokenChallenge is the WWW-Authenticate challenge of a refused
// /private/events (RFC 6750 §3,
// https://www.rfc-editor.org/rfc/rfc6750#section-3).
const tokenChallenge = `Bearer realm="ssekit-demo"`

// bodyTopics reads the topics of /private/events: from a POST's JSON body
// {"topics": [...]}, or from the query of a GET.
func bodyTopics(r *http.Request) ([]string, error) {
	if r.Method != http.MethodPost {
		return server.QueryTopics(r)
	}
	var in struct {
		Topics []string `json:"topics"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&in); err != nil {
		return nil, fmt.Errorf("invalid JSON body: %v", err)
	}
	for _, t := range in.Topics {
		if err := server.ValidTopic(t); err != nil {
			return nil, err
		}
	}
	return in.Topics, nil
}

// authorize lets /private/events through with "Authorization: Bearer
// <token>", the token of [Main.SetToken]. It refuses any other request
// with 401 and a WWW-Authenticate challenge: the client has not proved who
// it is, which a token can fix (403 would say that no token can).
func (m *Main) authorize(r *http.Request, _ []string) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return server.Unauthenticated("no token: send Authorization: Bearer <token>", tokenChallenge)
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return server.Unauthenticated("the Authorization header is not a bearer token", tokenChallenge+`, error="invalid_request"`)
	}
	want := *m.token.Load()
	if subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		return server.Unauthenticated("invalid token", tokenChallenge+`, error="invalid_token"`)
	}
	return nil
}

// SetToken replaces the bearer token that /private/events requires, as a
// rotation does: streams open with the old token go on, and are refused
// when they reconnect with it. An empty token is "demo".
func (m *Main) SetToken(token string) {
	if token == "" {
		token = "demo"
	}
	m.token.Store(&token)
}
