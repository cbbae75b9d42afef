package natsbroker

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/server"
)

func TestSubjectToken(t *testing.T) {
	t.Parallel()
	tests := []struct{ topic, want string }{
		{"prices", "prices"},
		{"user-42_x", "user-42_x"},
		{"a.b", "a%2Eb"},
		{"*", "%2A"},
		{">", "%3E"},
		{"a b", "a%20b"},
		{"a\tb\n", "a%09b%0A"},
		{"100%", "100%25"},
		{"ü", "%C3%BC"},
		{"room/1:x", "room%2F1%3Ax"},
	}
	seen := make(map[string]string)
	for _, tt := range tests {
		got := subjectToken(tt.topic)
		if got != tt.want {
			t.Errorf("subjectToken(%q) = %q; want %q", tt.topic, got, tt.want)
		}
		if !validToken(got) {
			t.Errorf("subjectToken(%q) = %q is not one literal token", tt.topic, got)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("subjectToken(%q) = subjectToken(%q) = %q", tt.topic, other, got)
		}
		seen[got] = tt.topic
	}
}

func TestSubjectLimits(t *testing.T) {
	t.Parallel()
	b := &Broker{cfg: config{prefix: "ssekit"}}
	if _, err := b.subject(""); !errors.Is(err, errEmptyTopic) {
		t.Errorf("subject(\"\") = %v; want errEmptyTopic", err)
	}
	if _, err := b.subject(strings.Repeat(".", maxSubjectLen/3)); !errors.Is(err, errLongTopic) {
		t.Errorf("subject(long) = %v; want errLongTopic", err)
	}
}

// fakeBroker is a broker with no NATS behind it, for the fan-out alone.
func fakeBroker(pos uint64) *Broker {
	return &Broker{epoch: "e1", pos: pos, subs: make(map[string]map[*subscription]struct{})}
}

func (b *Broker) fakeSub(after uint64, subjects ...string) *subscription {
	s := &subscription{QueueSubscription: server.NewQueueSubscription(server.SubscribeRequest{}, after, nil), subjects: subjects, after: after}
	b.mu.Lock()
	b.register(s)
	b.mu.Unlock()
	return s
}

func fetchAll(t *testing.T, s *subscription) (string, error) {
	t.Helper()
	frames, err := s.Fetch(nil)
	var all []string
	for _, f := range frames {
		all = append(all, string(f.Bytes))
	}
	return strings.Join(all, ""), err
}

func TestDispatch(t *testing.T) {
	t.Parallel()
	b := fakeBroker(10)
	s := b.fakeSub(10, "p.a", "p.b")
	late := b.fakeSub(12, "p.a")
	b.dispatch("p.a", 11, []byte("data: 1\n\n"))
	b.dispatch("p.c", 12, []byte("data: 2\n\n"))
	b.dispatch("p.b", 13, []byte("data: 3\n\n"))
	b.dispatch("p.a", 13, []byte("data: again\n\n")) // redelivered after a consumer reset
	b.dispatch("p.a", 14, []byte("data: 4\n\n"))
	got, err := fetchAll(t, s)
	if want := "id: e1-11\ndata: 1\n\nid: e1-13\ndata: 3\n\nid: e1-14\ndata: 4\n\n"; got != want || err != nil {
		t.Fatalf("Fetch = %q, %v; want %q, nil", got, err, want)
	}
	if got, _ := fetchAll(t, late); got != "id: e1-14\ndata: 4\n\n" {
		t.Fatalf("subscriber registered at 12: Fetch = %q; want only event 14", got)
	}
}

func TestDispatchGap(t *testing.T) {
	t.Parallel()
	b := fakeBroker(10)
	s := b.fakeSub(10, "p.a")
	other := b.fakeSub(10, "p.b")
	b.dispatch("p.a", 11, []byte("data: 1\n\n"))
	b.dispatch("p.b", 13, []byte("data: 3\n\n")) // 12 was removed before this instance saw it
	if got, err := fetchAll(t, s); got != "id: e1-11\ndata: 1\n\n" || !errors.Is(err, ErrGap) {
		t.Fatalf("Fetch = %q, %v; want event 11, then ErrGap", got, err)
	}
	if _, err := fetchAll(t, other); !errors.Is(err, ErrGap) {
		t.Fatalf("other subject: err = %v; want ErrGap", err)
	}
	if b.pos != 13 {
		t.Fatalf("pos = %d; want 13", b.pos)
	}
}
