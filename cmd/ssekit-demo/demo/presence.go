package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/web/events"
)

// presence tracks who has a stream open. It publishes a join event with
// everyone online when a stream opens, and a leave event when a user's last
// stream closes: a person with several tabs, or two streams, is online
// once.
type presence struct {
	broker server.Broker
	log    *slog.Logger
	mu     sync.Mutex
	online map[string]int // user → open streams
}

func newPresence(b server.Broker, log *slog.Logger) *presence {
	return &presence{broker: b, log: log, online: make(map[string]int)}
}

// connect is the server's connect hook; the user is userOf(r).
func (p *presence) connect(r *http.Request, topics []string) func() {
	user := userOf(r)
	p.mu.Lock()
	p.online[user]++
	list := p.list()
	p.mu.Unlock()
	// Every new stream gets the list, even when its user was online
	// already (a second tab, a reload): it is subscribed by now.
	p.publish(events.Join, user, list)
	return func() {
		p.mu.Lock()
		p.online[user]--
		last := p.online[user] == 0
		if last {
			delete(p.online, user)
		}
		list := p.list()
		p.mu.Unlock()
		if last {
			p.publish(events.Leave, user, list)
		}
	}
}

func (p *presence) list() []string {
	users := make([]string, 0, len(p.online))
	for u := range p.online {
		users = append(users, u)
	}
	slices.Sort(users)
	return users
}

func (p *presence) publish(ev schema.Event[events.Presence], user string, online []string) {
	if _, err := server.Publish(context.Background(), p.broker, events.TopicPresence, ev, events.Presence{User: user, Online: online}); err != nil {
		p.log.Warn("demo: publish presence", "err", err)
	}
}

// userOf returns who a stream is for: nameOf(r), or a new guest name for
// a client that says nothing.
func userOf(r *http.Request) string {
	if user := nameOf(r); user != "" {
		return user
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "guest-" + hex.EncodeToString(b[:])
}

// nameOf returns who a request says it is for: the user query parameter,
// else the user cookie, else the guest query parameter, the guest name
// ("guest-" and 6 hexadecimal digits) that the page chose once for its
// browser and keeps in its storage, so that every tab of one browser is one
// person. A name that is empty, too long or not UTF-8 does not count; ""
// means none does.
func nameOf(r *http.Request) string {
	user := strings.TrimSpace(r.URL.Query().Get("user"))
	if user == "" {
		if c, err := r.Cookie("user"); err == nil {
			user = strings.TrimSpace(c.Value)
		}
	}
	if user != "" && utf8.ValidString(user) && utf8.RuneCountInString(user) <= MaxUserLen {
		return user
	}
	if guest := r.URL.Query().Get("guest"); events.IsGuest(guest) {
		return guest
	}
	return ""
}
