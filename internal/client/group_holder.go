package client

import (
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// Granted reports that the member holds the group's lock: it becomes the
// holder, in a new term, and connects from its position.
func (g *Group) Granted(now time.Duration) {
	g.touch(now)
	g.lock = lockHeld
	if !g.active() {
		g.lock = lockNone
		g.io.ReleaseLock()
		return
	}
	num := max(g.maxTerm.num+1, uint64(max(g.cfg.Wall(), 0)))
	t := term{num: num, tab: g.cfg.Tab}
	g.maxTerm = t
	if g.mode == modeOwn {
		g.io.Disconnect(RoleOwn)
	}
	g.dropHeld()
	if g.mode != modeBehind {
		g.mode = modeFollowing
	}
	g.term, g.next, g.overlap = t, 0, false
	if g.hist.end() != g.pos {
		g.hist.reset(g.pos)
	}
	g.h = newHolder(t, g.pos)
	g.h.hb = g.hb
	g.io.Connect(RoleHolder, g.pos, g.typeList)
	// Announce the term at once: members stop waiting for the last
	// holder, and a holder it replaced steps down.
	g.post(now, &groupMsg{kind: msgBeat, term: t.num, pos: g.pos, hb: g.hb})
}

// Lost reports that the lock was stolen: another member holds the
// connection now.
func (g *Group) Lost(now time.Duration) {
	g.touch(now)
	g.lock = lockNone
	if g.h != nil {
		g.stepDown(now, false, true)
		return
	}
	if g.active() {
		g.lock = lockPending
		g.io.RequestLock(false)
	}
}

// stepDown ends the member's tenure. With handOver, what it has not
// posted yet goes out and a bye tells the others that the lock is free;
// otherwise it is dropped, since someone else holds the connection. With
// again, the member queues for the lock once more.
func (g *Group) stepDown(now time.Duration, handOver, again bool) {
	h := g.h
	if h == nil {
		return
	}
	if handOver {
		g.flush(now)
		g.post(now, &groupMsg{kind: msgBye, term: h.term.num})
	}
	g.h = nil
	if g.hist.end() != g.pos {
		g.hist.reset(g.pos) // the member had not delivered all it relayed
	}
	g.io.Disconnect(RoleHolder)
	if g.lock == lockHeld {
		g.lock = lockNone
		g.io.ReleaseLock()
	}
	g.heard = now
	if again && g.active() && g.lock == lockNone {
		g.lock = lockPending
		g.io.RequestLock(false)
	}
}

// post sends a holder's message.
func (g *Group) post(now time.Duration, m *groupMsg) {
	m.from = g.cfg.Tab
	g.io.Post(appendMsg(nil, m))
	if g.h != nil {
		g.h.lastPost = now
	}
}

// Local hands the holder a notice of the group's connection: it is
// numbered, kept for members that join behind, delivered to the holder's
// own member and queued for the next batch.
func (g *Group) Local(n Notice, now time.Duration) {
	g.touch(now)
	h := g.h
	if h == nil {
		return
	}
	e, ok := g.entryOf(n)
	if !ok {
		g.d.PostError(n.Err) // this tab's concern alone
		return
	}
	if len(h.pending) > 0 && n.Origin != h.origin && e.kind == entryEvent {
		g.flush(now)
	}
	before := h.pos
	m := h.add(e, n.Origin)
	g.hist.add(e)
	if e.kind == entryEvent && e.ev.Type == schema.HelloEvent {
		if hb := HelloHeartbeat(e.ev.Data); hb > 0 {
			g.hb, h.hb = hb, hb
		}
	}
	if e.kind == entryEnd {
		g.flush(now)
	}
	// The holder's own member takes it as any other would.
	g.onBatch(&groupMsg{kind: msgBatch, from: g.cfg.Tab, term: h.term.num, n: m, pos: before, origin: n.Origin, entries: []relayEntry{e}})
	if g.h == nil {
		return
	}
	switch {
	case len(h.pending) >= maxBatch || h.pendingSize >= maxBatchBytes:
		g.flush(now)
	case len(h.pending) > 0 && !h.flushAsked:
		h.flushAsked = true
		g.io.ScheduleFlush()
	}
}

// Flush posts the entries the holder has not posted yet, as one batch.
func (g *Group) Flush(now time.Duration) {
	g.touch(now)
	if g.h != nil {
		g.h.flushAsked = false
		g.flush(now)
	}
}

func (g *Group) flush(now time.Duration) {
	h := g.h
	if h == nil || len(h.pending) == 0 {
		return
	}
	m := &groupMsg{kind: msgBatch, term: h.term.num, n: h.pendingFirst, pos: h.pendingFrom, origin: h.origin, entries: h.pending}
	g.post(now, m)
	h.pending, h.pendingSize = nil, 0
}

// holder is what the holding member keeps: its term, its connection's
// position and state, what it has not posted, and what it posted lately.
type holder struct {
	term     term
	n        uint64 // the index of the next entry
	pos      string // the connection's last event ID
	open     bool
	lastErr  *ConnInfo // since the connection last opened
	hello    *sse.Event
	origin   string
	hb       time.Duration
	lastPost time.Duration

	pending      []relayEntry
	pendingFirst uint64
	pendingFrom  string
	pendingSize  int
	flushAsked   bool
}

func newHolder(t term, from string) *holder {
	return &holder{term: t, pos: from}
}

// add numbers e, queues it for the next batch and follows the
// connection's state. It returns e's index.
func (h *holder) add(e relayEntry, origin string) uint64 {
	if len(h.pending) == 0 {
		h.pendingFirst, h.pendingFrom = h.n, h.pos
	}
	n := h.n
	h.n++
	h.pending = append(h.pending, e)
	h.pendingSize += e.size()
	switch e.kind {
	case entryEvent, entryID:
		if e.kind == entryEvent {
			h.origin = origin
			if e.ev.Type == schema.HelloEvent {
				hello := e.ev
				h.hello = &hello
			}
		}
		h.pos = e.ev.ID
	case entryOpen:
		h.open, h.lastErr = true, nil
	case entryError, entryEnd:
		info := e.info
		h.open, h.lastErr = false, &info
	}
	return n
}

// state answers the join j: the group's state and, when j has a
// position, what the history hist holds after it. Its n is the index of
// the next entry.
func (h *holder) state(j *groupMsg, hist *history, types []string) *groupMsg {
	m := &groupMsg{kind: msgState, from: h.term.tab, to: j.from, term: h.term.num, n: h.n, pos: h.pos, open: h.open, serve: true,
		hb: h.hb, origin: h.origin, hello: h.hello, lastErr: h.lastErr, types: types}
	if !j.cursor {
		return m
	}
	tail, ok := hist.after(j.pos)
	if !ok {
		m.serve = false
		return m
	}
	if len(tail) > 0 {
		m.pos = hist.before(tail)
		m.entries = make([]relayEntry, len(tail))
		for i := range tail {
			m.entries[i] = tail[i].e
		}
	}
	return m
}

// Bounds of one batch: past them it goes out at once.
const (
	maxBatch      = 512
	maxBatchBytes = 256 << 10
)
