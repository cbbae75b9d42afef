package demo

import (
	"context"
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
// {"user": "...", "text": "..."}. It answers 201 with {"id": "..."}, the
// ID of the message's event, or a 4xx with a plain-text reason.
//
// A post with an Idempotency-Key header is published once however often
// it is sent: a retry with the same key gets the first one's answer (and
// Idempotent-Replayed: true) and publishes nothing; see posts.
func (m *Main) postChat(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if _, sent := r.Header["Idempotency-Key"]; sent && !validKey(key) {
		http.Error(w, fmt.Sprintf("Idempotency-Key must be 1 to %d visible ASCII characters", MaxIdempotencyKeyLen), http.StatusBadRequest)
		return
	}
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
	if key == "" {
		if id, ok := m.publishChat(w, r, msg); ok {
			chatCreated(w, id, false)
		}
		return
	}
	for {
		p, first, err := m.posts.begin(key, msg.User+"\x00"+msg.Text)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		if first {
			id, ok := m.publishChat(w, r, msg)
			m.posts.finish(p, id)
			if ok {
				chatCreated(w, id, false)
			}
			return
		}
		select {
		case <-p.done:
		case <-r.Context().Done():
			return
		}
		if p.id != "" {
			chatCreated(w, p.id, true)
			return
		}
		// The first request failed, and was forgotten: this one tries.
	}
}

// publishChat publishes msg and returns its ID, or answers 503 and returns
// false. Publishing goes on if the client goes away meanwhile, so that the
// outcome of a post with an Idempotency-Key is known when it retries.
func (m *Main) publishChat(w http.ResponseWriter, r *http.Request, msg events.ChatMessage) (string, bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	id, err := server.Publish(ctx, m.broker, events.TopicChat, events.Chat, msg)
	if err != nil {
		m.Logger.Warn("demo: publish chat", "err", err)
		http.Error(w, "the message could not be published now; try again", http.StatusServiceUnavailable)
		return "", false
	}
	return id, true
}

func chatCreated(w http.ResponseWriter, id string, replayed bool) {
	w.Header().Set("Content-Type", "application/json")
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
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
