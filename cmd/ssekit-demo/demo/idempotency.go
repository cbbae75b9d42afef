package demo

import (
	"errors"
	"sync"
	"time"
)

// Bounds of what posts remembers.
const (
	// MaxIdempotencyKeyLen is the longest Idempotency-Key a chat post may
	// carry, in bytes.
	MaxIdempotencyKeyLen = 64
	// idempotencyTTL is how long the outcome of a post is kept for its
	// retries: far longer than a page goes on retrying.
	idempotencyTTL = 10 * time.Minute
	// idempotencyKeys caps the outcomes kept, the oldest going first.
	idempotencyKeys = 10_000
)

// errKeyReused refuses a key that came with another message than the
// first time.
var errKeyReused = errors.New("this Idempotency-Key was sent with another message")

// posts remembers the outcome of the chat posts that carried an
// Idempotency-Key, so that a post retried after its answer was lost (a
// deadline, a dropped connection) gets the first one's answer and is
// published once. It follows the IETF draft "The Idempotency-Key HTTP
// Header Field"
// (https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/):
// the first request of a key decides; a retry that comes while it is in
// flight waits for its outcome; a key sent with another message is
// refused. A post that failed is forgotten, so its retry publishes.
//
// The outcomes live in one process: with several instances behind a load
// balancer, a retry that reaches another instance is published again.
//
// A posts is safe for concurrent use.
type posts struct {
	now   func() time.Time
	mu    sync.Mutex
	byKey map[string]*post
	order []*post // oldest first
}

// post is the outcome of the first request of a key.
type post struct {
	key  string
	msg  string // what was posted: the user, a NUL, the text
	at   time.Time
	done chan struct{} // closed once id is set
	id   string        // the published event's ID; "" when publishing failed
}

func newPosts() *posts {
	return &posts{now: time.Now, byKey: make(map[string]*post)}
}

// begin returns the post of key, and whether this request is its first
// and must publish msg (then it calls finish), or must wait for done and
// answer with id. It returns errKeyReused when key came with another msg.
func (ps *posts) begin(key, msg string) (p *post, first bool, err error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	now := ps.now()
	ps.expire(now)
	if p := ps.byKey[key]; p != nil {
		if p.msg != msg {
			return nil, false, errKeyReused
		}
		return p, false, nil
	}
	p = &post{key: key, msg: msg, at: now, done: make(chan struct{})}
	ps.byKey[key] = p
	ps.order = append(ps.order, p)
	return p, true, nil
}

// finish records the outcome of p's first request: the ID of the event it
// published, or "" when it failed, which forgets p so that a retry
// publishes.
func (ps *posts) finish(p *post, id string) {
	ps.mu.Lock()
	p.id = id
	if id == "" && ps.byKey[p.key] == p {
		delete(ps.byKey, p.key)
	}
	ps.mu.Unlock()
	close(p.done)
}

// expire forgets the posts older than idempotencyTTL, and the oldest past
// idempotencyKeys. Call with ps.mu held.
func (ps *posts) expire(now time.Time) {
	n := 0
	for n < len(ps.order) && (now.Sub(ps.order[n].at) > idempotencyTTL || len(ps.order)-n >= idempotencyKeys) {
		if p := ps.order[n]; ps.byKey[p.key] == p {
			delete(ps.byKey, p.key)
		}
		n++
	}
	if n > 0 {
		ps.order = append(ps.order[:0], ps.order[n:]...)
	}
}

// validKey reports whether key is an Idempotency-Key the demo accepts: 1
// to MaxIdempotencyKeyLen visible ASCII characters.
func validKey(key string) bool {
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < '!' || key[i] > '~' {
			return false
		}
	}
	return true
}
