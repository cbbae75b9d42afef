package natsbroker

import (
	"errors"
	"strings"
)

// maxSubjectLen bounds the subject a topic maps to, well inside NATS's
// default control line of 4 KiB.
const maxSubjectLen = 1024

var (
	errEmptyTopic = errors.New("natsbroker: empty topic")
	errLongTopic  = errors.New("natsbroker: topic too long for a NATS subject")
)

// subjectToken encodes topic as one NATS subject token: ASCII letters,
// digits, '-' and '_' stand for themselves and every other byte becomes
// "%XX" (upper-case hex). The result never holds '.', '*', '>' or white
// space, so a topic is exactly one token whatever it contains, and the
// encoding is one-to-one because '%' itself is escaped. Plain topic names
// ("prices", "user-42") stay readable in the stream's subjects.
func subjectToken(topic string) string {
	n := 0
	for i := 0; i < len(topic); i++ {
		if !plain(topic[i]) {
			n++
		}
	}
	if n == 0 {
		return topic
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(topic) + 2*n)
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// subject returns the subject topic is stored under.
func (b *Broker) subject(topic string) (string, error) {
	if topic == "" {
		return "", errEmptyTopic
	}
	s := b.cfg.prefix + "." + subjectToken(topic)
	if len(s) > maxSubjectLen {
		return "", errLongTopic
	}
	return s, nil
}

// validToken reports whether s is a literal NATS subject token that is also
// safe in a stream name: no wildcards, separators or white space.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f, c == '.', c == '*', c == '>', c == '/', c == '\\':
			return false
		}
	}
	return true
}

// validPrefix reports whether p is a literal subject of one or more tokens.
func validPrefix(p string) bool {
	for tok := range strings.SplitSeq(p, ".") {
		if !validToken(tok) {
			return false
		}
	}
	return true
}
