package client

import (
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// sendJoin asks the holder for the group's state and for what came after
// the member's position.
func (g *Group) sendJoin(now time.Duration) {
	g.joinSent = now
	m := &groupMsg{kind: msgJoin, from: g.cfg.Tab, pos: g.pos, cursor: g.pos != "", types: g.typeList}
	if g.h != nil {
		g.onState(g.h.state(m, g.hist, g.typeList)) // the holder's own member
		return
	}
	g.io.Post(appendMsg(nil, m))
}

// catchUp makes the member ask for what it missed, holding what comes
// meanwhile.
func (g *Group) catchUp(now time.Duration) {
	g.mode = modeJoining
	g.sendJoin(now)
}

// continues reports whether batch m takes up where the member is.
func (g *Group) continues(m *groupMsg) bool {
	if m.holder() == g.term {
		return m.n <= g.next
	}
	if m.n != 0 {
		return false // the start of a new term was missed
	}
	if g.pos == "" {
		return true // from wherever the group is
	}
	from := batchFrom(m)
	return from == g.pos || atOrBefore(from, g.pos)
}

// batchFrom returns the position before m's entries: that of the batch,
// or, for the first batch of a connection that started afresh, the
// position its hello gives.
func batchFrom(m *groupMsg) string {
	if m.pos != "" {
		return m.pos
	}
	for i := range m.entries {
		e := &m.entries[i]
		if e.kind == entryEvent {
			if e.ev.Type == schema.HelloEvent {
				return e.ev.ID
			}
			break
		}
	}
	return ""
}

// onBatch takes a batch of the holder's, or holds it while the member
// catches up.
func (g *Group) onBatch(m *groupMsg) {
	if m.holder().less(g.term) {
		return
	}
	switch g.mode {
	case modeFollowing:
		if !g.continues(m) {
			g.hold(m)
			g.catchUp(g.lastCall)
			return
		}
		g.apply(m)
	case modeJoining:
		if g.continues(m) {
			g.mode = modeFollowing
			g.apply(m)
			return
		}
		g.hold(m)
	case modeOwn:
		g.hold(m)
		g.trySwitch()
	}
}

// apply hands the entries of m, which continues the member's stream, to
// the dispatcher.
func (g *Group) apply(m *groupMsg) {
	if t := m.holder(); t != g.term {
		g.term, g.next, g.overlap = t, m.n, g.pos != ""
	}
	for i := range m.entries {
		idx := m.n + uint64(i)
		if idx < g.next {
			continue
		}
		g.next = idx + 1
		g.deliver(&m.entries[i], m.origin)
		if g.mode != modeFollowing {
			return
		}
	}
}

// deliver hands one entry to the dispatcher. While overlap is set, events
// at or before the member's position are what a new connection replays:
// they are skipped, but for the hello, whose fingerprint is checked on
// every connection.
func (g *Group) deliver(e *relayEntry, origin string) {
	if id, ok := e.id(); ok && g.overlap {
		if id == g.pos || atOrBefore(id, g.pos) {
			if e.kind == entryEvent && e.ev.Type == schema.HelloEvent {
				ev := e.ev
				ev.ID = g.pos
				g.post1(ev, origin)
			}
			return
		}
		g.overlap = false
	}
	if g.h == nil {
		defer func() {
			if g.mode != modeBehind {
				g.hist.add(*e)
			}
		}()
	}
	switch e.kind {
	case entryEvent:
		if g.post1(e.ev, origin) {
			g.pos = e.ev.ID
		}
	case entryID:
		g.pos = e.ev.ID
		g.d.PostID(e.ev.ID)
	case entryOpen:
		if !g.open {
			g.open = true
			g.io.SetState(Open)
			g.d.PostOpen()
		}
	case entryError:
		g.open = false
		g.io.SetState(Connecting)
		g.d.PostError(g.cfg.Error(e.info))
	case entryEnd:
		g.end(g.cfg.Error(e.info))
	}
}

// post1 posts an event to the dispatcher; when its queue is full, the
// member is behind.
func (g *Group) post1(ev sse.Event, origin string) bool {
	if g.d.PostEvent(ev, origin) {
		if ev.Type == schema.HelloEvent {
			g.hello = true
			if hb := HelloHeartbeat(ev.Data); hb > 0 {
				g.hb = hb // how long the holder may be silent
			}
		}
		return true
	}
	if g.mode == modeOwn {
		g.io.Disconnect(RoleOwn)
	}
	// The entries numbered after the member's position were not
	// delivered: from now on only positions count, until the holder
	// answers the member's join.
	g.term = term{}
	g.mode = modeBehind
	g.dropHeld()
	g.io.WaitCaughtUp()
	return false
}

// CaughtUp reports that the handlers of a member that was behind have
// caught up: it asks for what it missed.
func (g *Group) CaughtUp(now time.Duration) {
	g.touch(now)
	if g.mode == modeBehind {
		g.catchUp(now)
	}
}

// end fails the member's stream for good.
func (g *Group) end(err error) {
	g.open = false
	g.mode = modeEnded
	g.io.SetState(Closed)
	g.d.PostEnd(err)
	if g.h != nil {
		g.h = nil
		g.io.Disconnect(RoleHolder)
	}
	g.leave()
}

// hold keeps m for when the member has caught up, dropping the oldest
// held batches past the limits.
func (g *Group) hold(m *groupMsg) {
	g.held = append(g.held, m)
	g.heldEvents += len(m.entries)
	g.heldSize += msgSize(m)
	for len(g.held) > 1 && (g.heldEvents > g.cfg.Limits.Events || g.heldSize > g.cfg.Limits.Bytes) {
		g.heldEvents -= len(g.held[0].entries)
		g.heldSize -= msgSize(g.held[0])
		g.held[0] = nil
		g.held = g.held[1:]
	}
}

func msgSize(m *groupMsg) int {
	size := 0
	for i := range m.entries {
		size += m.entries[i].size()
	}
	return size
}

func (g *Group) dropHeld() {
	g.held, g.heldEvents, g.heldSize = nil, 0, 0
}

// replayHeld takes the held batches, now that the member follows again.
func (g *Group) replayHeld() {
	held := g.held
	g.dropHeld()
	for _, m := range held {
		if g.mode != modeFollowing {
			g.hold(m) // a gap remains: keep the rest for the next answer
			continue
		}
		g.onBatch(m)
	}
}

// onState takes the holder's answer to a join.
func (g *Group) onState(m *groupMsg) {
	if g.mode != modeJoining || m.holder().less(g.term) {
		return
	}
	if !m.serve {
		// The holder no longer keeps what came after the member's
		// position: read it from the server.
		g.mode = modeOwn
		g.overlap = true
		g.io.Connect(RoleOwn, g.pos, g.typeList)
		return
	}
	g.mode = modeFollowing
	g.term = m.holder()
	if g.pos == "" {
		g.pos = m.pos // from where the group is
		g.hist.reset(g.pos)
	}
	// A position ahead of the group's (a cursor newer than what the
	// holder has read) skips what the group reads up to it.
	g.overlap = g.pos != ""
	if m.open && !g.open {
		g.open = true
		g.io.SetState(Open)
		g.d.PostOpen()
	} else if !m.open && m.lastErr != nil && g.open {
		g.open = false
		g.io.SetState(Connecting)
		g.d.PostError(g.cfg.Error(*m.lastErr))
	}
	if m.hello != nil && !g.hello && !hasHello(m.entries) {
		ev := *m.hello
		if g.pos != "" {
			ev.ID = g.pos
		}
		if !g.post1(ev, m.origin) {
			return
		}
		if g.pos == "" {
			g.pos = ev.ID
		}
	}
	for i := range m.entries {
		g.deliver(&m.entries[i], m.origin)
		if g.mode != modeFollowing {
			return
		}
	}
	g.next = m.n
	g.replayHeld()
}

func hasHello(entries []relayEntry) bool {
	for i := range entries {
		if entries[i].kind == entryEvent && entries[i].ev.Type == schema.HelloEvent {
			return true
		}
	}
	return false
}

// Own hands the member a notice of its own connection, which it reads
// while it catches up: events after its position go to the dispatcher,
// and once the connection has reached the position the group's held
// batches start from, the member closes it and follows the group again.
func (g *Group) Own(n Notice, now time.Duration) {
	g.touch(now)
	if g.mode != modeOwn {
		return
	}
	e, ok := g.entryOf(n)
	if !ok {
		g.d.PostError(n.Err)
		return
	}
	g.deliver(&e, n.Origin)
	if g.mode == modeOwn {
		g.trySwitch()
	}
}

// trySwitch goes back to the group once the member's own connection has
// reached the position a held batch starts from; what was held before
// that batch came before it.
func (g *Group) trySwitch() {
	if g.mode != modeOwn {
		return
	}
	if h := g.h; h != nil && (h.pos == g.pos || atOrBefore(h.pos, g.pos)) {
		// The holder's own member, which hears no beat of its own:
		// what the holder numbers from now on comes after.
		g.rejoin(h.term, h.n)
		return
	}
	for i, m := range g.held {
		if from := batchFrom(m); from == g.pos || atOrBefore(from, g.pos) {
			for _, old := range g.held[:i] {
				g.heldEvents -= len(old.entries)
				g.heldSize -= msgSize(old)
			}
			g.held = g.held[i:]
			g.rejoin(m.holder(), m.n)
			return
		}
	}
}

// rejoin closes the member's own connection and follows term t from its
// entry next, which comes after the member's position.
func (g *Group) rejoin(t term, next uint64) {
	g.io.Disconnect(RoleOwn)
	g.mode = modeFollowing
	g.term, g.next, g.overlap = t, next, g.pos != ""
	g.replayHeld()
}

// entryOf turns a connection's notice into an entry; ok is false for an
// error that is not the connection's.
func (g *Group) entryOf(n Notice) (e relayEntry, ok bool) {
	switch n.Kind {
	case NoticeEvent:
		return relayEntry{kind: entryEvent, ev: sse.Event{Type: n.Event.Type, Data: n.Event.Data, ID: n.Event.ID}}, true
	case NoticeID:
		return relayEntry{kind: entryID, ev: sse.Event{ID: n.Event.ID}}, true
	case NoticeOpen:
		return relayEntry{kind: entryOpen}, true
	case NoticeError, NoticeEnd:
		info, ok := g.cfg.Info(n.Err)
		if !ok {
			return relayEntry{}, false
		}
		if n.Kind == NoticeEnd {
			info.Closed = true
			return relayEntry{kind: entryEnd, info: info}, true
		}
		return relayEntry{kind: entryError, info: info}, true
	}
	return relayEntry{}, false
}
