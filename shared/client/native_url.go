package client

import (
	"net/url"
	"strings"
)

// The query parameters of a native source's URL. EventSource cannot send
// headers, so a new EventSource asks for its position and its heartbeats
// in the query; an ssekit server reads both (a Last-Event-ID header, which
// the browser sends when it reconnects on its own, wins).
const (
	lastEventIDParam = "lastEventId"
	heartbeatParam   = "heartbeat"
)

// NativeURL returns the URL for a new EventSource reading the stream at
// raw (an absolute URL) from lastID: raw with lastEventId=lastID (none when
// lastID is "") and heartbeat=event, replacing any parameters of those
// names. The rest of raw is kept byte for byte, in order.
func NativeURL(raw, lastID string) string {
	base, frag, hasFrag := strings.Cut(raw, "#")
	path, query, _ := strings.Cut(base, "?")
	var kept []string
	for part := range strings.SplitSeq(query, "&") {
		if part == "" {
			continue
		}
		if k := paramName(part); k == lastEventIDParam || k == heartbeatParam {
			continue
		}
		kept = append(kept, part)
	}
	kept = append(kept, heartbeatParam+"=event")
	if lastID != "" {
		kept = append(kept, lastEventIDParam+"="+url.QueryEscape(lastID))
	}
	s := path + "?" + strings.Join(kept, "&")
	if hasFrag {
		s += "#" + frag
	}
	return s
}

// QueryLastEventID returns the value of raw's first lastEventId query
// parameter, "" when it has none: the position a URL built by hand, as
// pages did before WithLastEventID, resumes from.
func QueryLastEventID(raw string) string {
	base, _, _ := strings.Cut(raw, "#")
	_, query, _ := strings.Cut(base, "?")
	for part := range strings.SplitSeq(query, "&") {
		if paramName(part) != lastEventIDParam {
			continue
		}
		_, v, _ := strings.Cut(part, "=")
		if s, err := url.QueryUnescape(v); err == nil {
			return s
		}
		return v
	}
	return ""
}

func paramName(part string) string {
	k, _, _ := strings.Cut(part, "=")
	if s, err := url.QueryUnescape(k); err == nil {
		return s
	}
	return k
}
