package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/web/events"
)

// Limits of a chat message.
const (
	MaxUserLen = 32  // runes
	MaxTextLen = 500 // runes
	maxBody    = 4 << 10
)

// postChat publishes a chat message: POST /api/chat with JSON
// {"user": "...", "text": "..."}. It answers 201 with {"id": "..."}, or a
// 4xx with a plain-text reason.
func (m *Main) postChat(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User string `json:"user"`
		Text string `json:"text"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("request body larger than %d bytes", maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("empty body")
		}
		http.Error(w, "invalid JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	msg := events.ChatMessage{User: strings.TrimSpace(in.User), Text: strings.TrimSpace(in.Text), Time: time.Now().UTC()}
	if reason := checkChat(msg); reason != "" {
		http.Error(w, reason, http.StatusBadRequest)
		return
	}
	id, err := server.Publish(r.Context(), m.broker, events.TopicChat, events.Chat, msg)
	if err != nil {
		m.Logger.Warn("demo: publish chat", "err", err)
		http.Error(w, "cannot publish: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{"id": id})
}

func checkChat(msg events.ChatMessage) string {
	switch {
	case msg.User == "":
		return "user is empty"
	case utf8.RuneCountInString(msg.User) > MaxUserLen:
		return fmt.Sprintf("user is longer than %d characters", MaxUserLen)
	case msg.Text == "":
		return "text is empty"
	case utf8.RuneCountInString(msg.Text) > MaxTextLen:
		return fmt.Sprintf("text is longer than %d characters", MaxTextLen)
	}
	return ""
}

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
// <token>".
func (m *Main) authorize(r *http.Request, _ []string) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return fmt.Errorf("missing Authorization header: %w", server.ErrUnauthenticated)
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token != m.Token {
		return errors.New("invalid token")
	}
	return nil
}
