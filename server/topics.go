package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// QueryTopics is the default [TopicFunc]: the values of the repeated "topic"
// query parameter, each checked by [ValidTopic].
func QueryTopics(r *http.Request) ([]string, error) {
	// URL.Query drops what it cannot parse without a word: say what is
	// wrong instead of "no topic".
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("malformed query: %v", err)
	}
	topics := q["topic"]
	for _, t := range topics {
		if err := ValidTopic(t); err != nil {
			return nil, err
		}
	}
	return topics, nil
}

// ValidTopic reports whether name is a well-formed topic: 1 to [MaxTopicLen]
// bytes of UTF-8 with no space or control characters.
func ValidTopic(name string) error {
	switch {
	case name == "":
		return errors.New("empty topic name")
	case len(name) > MaxTopicLen:
		return fmt.Errorf("topic name longer than %d bytes", MaxTopicLen)
	case !utf8.ValidString(name):
		return errors.New("topic name is not valid UTF-8")
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("topic name %q contains a space or control character", name)
	}
	return nil
}

func (s *Server) checkTopics(topics []string) error {
	if len(topics) == 0 {
		return errors.New("no topic: name at least one with ?topic=")
	}
	if len(topics) > s.cfg.maxTopics {
		return fmt.Errorf("too many topics: %d, at most %d", len(topics), s.cfg.maxTopics)
	}
	for i, t := range topics {
		if s.cfg.allowed != nil && !s.cfg.allowed[t] {
			return fmt.Errorf("unknown topic %q", t)
		}
		for _, u := range topics[:i] {
			if u == t {
				return fmt.Errorf("topic %q named twice", t)
			}
		}
	}
	return nil
}
