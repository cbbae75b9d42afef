package client

import "github.com/ssekit/ssekit/shared/schema"

// history is what a member of a [Group] kept of the stream: the entries it
// delivered or, while it holds the group's connection, relayed, each with
// the position after it, the last ones up to its limits. The holder
// answers a member that joins behind it from its history; a member that
// takes over keeps its own, so that members that were a batch behind the
// last holder catch up from the new one.
type history struct {
	entries []histEntry
	from    string // the position before entries[0]
	size    int
	limit   Limits
}

type histEntry struct {
	e  relayEntry
	at string // the position after e
}

// reset empties the history, which starts again at position from.
func (h *history) reset(from string) {
	clear(h.entries)
	h.entries, h.from, h.size = h.entries[:0], from, 0
}

// end returns the position after the last entry.
func (h *history) end() string {
	if len(h.entries) == 0 {
		return h.from
	}
	return h.entries[len(h.entries)-1].at
}

// add appends e, dropping the oldest entries past the limits.
func (h *history) add(e relayEntry) {
	at, ok := e.id()
	if !ok {
		at = h.end()
	}
	if h.end() == "" && e.kind == entryEvent && e.ev.Type == schema.HelloEvent {
		h.from = at // a connection that started afresh holds what follows its hello
	}
	h.entries = append(h.entries, histEntry{e: e, at: at})
	h.size += e.size()
	for len(h.entries) > 1 && (len(h.entries) > h.limit.Events || h.size > h.limit.Bytes) {
		h.from = h.entries[0].at
		h.size -= h.entries[0].e.size()
		h.entries[0] = histEntry{}
		h.entries = h.entries[1:]
	}
}

// before returns the position before the first of tail, a tail of the
// entries.
func (h *history) before(tail []histEntry) string {
	i := len(h.entries) - len(tail)
	if i == 0 {
		return h.from
	}
	return h.entries[i-1].at
}

// after returns the entries that come after position pos, and whether the
// history reaches back that far.
func (h *history) after(pos string) ([]histEntry, bool) {
	if h.from != pos && !atOrBefore(h.from, pos) {
		// Not ordered by ID: only an entry with that very ID tells.
		for i := len(h.entries) - 1; i >= 0; i-- {
			if h.entries[i].at == pos {
				return h.entries[i+1:], true
			}
		}
		return nil, false
	}
	start := 0
	for start < len(h.entries) && (h.entries[start].at == pos || atOrBefore(h.entries[start].at, pos)) {
		start++
	}
	return h.entries[start:], true
}
