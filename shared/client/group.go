package client

import (
	"math/rand/v2"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// GroupBeat is how often the holding tab of a [Group] says it is alive
// when it has nothing to relay.
const GroupBeat = time.Second

// groupHeartbeat stands in for the server's heartbeat interval when its
// hello announced none.
const groupHeartbeat = 15 * time.Second

// GroupHistory bounds what the holding tab of a [Group] keeps of what it
// relayed, to serve a tab that joins behind the group's position (a
// snapshot's cursor) or lost the thread: the last 1024 events or 1 MiB,
// and no more than the tab's [Limits].
var GroupHistory = Limits{Events: 1024, Bytes: 1 << 20}

// GroupRole is the role of a connection a [Group] asks its glue for.
type GroupRole uint8

const (
	// RoleHolder is the connection the holding tab reads for the group.
	RoleHolder GroupRole = iota + 1
	// RoleOwn is a member's own connection while it catches up on what
	// the holder no longer keeps.
	RoleOwn
)

// GroupIO is what a [Group] does in the browser: the glue of the wasm
// package implements it with a BroadcastChannel, the Web Locks API and the
// source's transports. Its methods are called on the goroutine that drives
// the Group, and must not block.
type GroupIO interface {
	// Post sends msg to the other members of the group. It may keep msg.
	Post(msg []byte)
	// Connect opens the connection of role from the stream position from
	// ("" for now), listening to types (the native EventSource delivers
	// only the types it listens to). Its notices go to [Group.Local]
	// (RoleHolder) or [Group.Own] (RoleOwn) until Disconnect.
	Connect(role GroupRole, from string, types []string)
	// Disconnect closes the connection of role. Nothing it delivered
	// afterwards may reach the Group.
	Disconnect(role GroupRole)
	// Listen makes the holder's connection deliver events of type name.
	Listen(name string)
	// RequestLock asks for the group's lock, withdrawing a request still
	// pending; steal takes it from the tab that holds it. The answer is
	// [Group.Granted], and [Group.Lost] if it is stolen afterwards.
	RequestLock(steal bool)
	// ReleaseLock releases the lock, or withdraws the pending request.
	ReleaseLock()
	// ScheduleFlush asks for [Group.Flush] once the events that arrived
	// together have been handed over: after the page's pending tasks, not
	// after a timer, which a hidden page slows down.
	ScheduleFlush()
	// WaitCaughtUp asks for [Group.CaughtUp] once the handlers have
	// caught up ([Dispatcher.WaitCaughtUp]).
	WaitCaughtUp()
	// SetState sets the source's ReadyState.
	SetState(ReadyState)
}

// GroupConfig configures a [Group].
type GroupConfig struct {
	// Tab identifies the member among all those of the group, in every
	// tab: a random string.
	Tab string
	// LastEventID is where the member starts, when Cursor is true: a
	// snapshot's cursor. Without it the member starts where the group is
	// when it joins.
	LastEventID string
	Cursor      bool
	// Types are the event types the member's handlers want at the start.
	Types []string
	// Limits bounds the batches held while the member catches up, and the
	// history the member keeps while it holds (see [GroupHistory]). The
	// zero Limits means [DefaultLimits].
	Limits Limits
	// Info turns a connection error into what is relayed, and reports
	// false for an error that concerns the holding tab alone; Error turns
	// it back into an error in the other tabs.
	Info  func(error) (ConnInfo, bool)
	Error func(ConnInfo) error
	// Rand returns a number in [0, 1) to spread the members' takeovers;
	// nil means math/rand/v2.Float64.
	Rand func() float64
}

// Group is the logic of one member of a group of sources, in the tabs of
// one browser, that read one stream over one connection: the member whose
// tab holds the group's lock (the holder) reads the stream and relays what
// arrives; every member, the holder included, hands it to its own
// [Dispatcher] as if it had read it itself.
//
// # Relay
//
// The holder numbers what its connection delivers (events, ID changes,
// opens, errors, the end) in its term, and posts it in batches: everything
// that arrived before the page's event loop came back to the member goes
// in one message (see [GroupIO.ScheduleFlush]), as the server coalesces
// its writes. A member follows one term at a time, by the numbers: it
// skips what it has and notices what it missed.
//
// # Takeover
//
// When the holder leaves (its tab closes: the browser releases the lock),
// the next member in the lock's queue takes over: it connects from its own
// position, the last ID it handed its dispatcher, and starts a new term,
// numbered after any it saw. Members ahead of it skip what its connection
// replays, by comparing ssekit's IDs (see position); so no member misses or
// repeats an event, and none sees a reset. A holder that is frozen keeps
// the lock: a member that has heard nothing from it for
// [WatchdogIntervals] heartbeat intervals (the server's, at least
// [GroupBeat]) steals the lock. A holder steps down when it is about to be
// frozen, when a later term speaks, when its lock is stolen, and when it
// finds that its event loop stood still long enough for a member to take
// over: it never relays what it read before someone else held the lock.
//
// # Joining and catching up
//
// A member joins with its position, if it has one, and the holder answers
// with the group's state (its hello, whether its connection is open) and
// what it kept after that position ([GroupHistory]). A member too far
// behind for the history, or one that missed messages and whose position
// the holder no longer keeps, reads the stream on a connection of its own
// from its position until that connection reaches the group's, then goes
// back to the group. A member whose handlers fall a whole [Limits] behind
// stops taking batches and catches up the same way once they are done.
//
// A Group is not safe for concurrent use: one goroutine calls its
// methods, each with the time of the call.
type Group struct {
	cfg GroupConfig
	io  GroupIO
	d   *Dispatcher

	mode       memberMode
	term       term   // the holder's term the member follows
	next       uint64 // the index of the next entry it expects in term
	pos        string // the last event ID it handed the dispatcher
	overlap    bool   // skipping what a new connection replays
	open       bool   // as far as the dispatcher was told
	hello      bool   // the dispatcher has had a hello
	held       []*groupMsg
	heldEvents int
	heldSize   int
	joinSent   time.Time

	types    map[string]bool
	typeList []string
	hb       time.Duration // the server's heartbeat interval, from the hello
	maxTerm  term          // the latest term heard of
	heard    time.Time     // when the latest holder last spoke
	lock     lockState
	jitter   time.Duration
	nextAt   time.Time // what Next returned
	lastCall time.Time // the last call

	hist *history // what the member delivered or, holding, relayed
	h    *holder  // while holding the lock
}

type memberMode uint8

const (
	modeJoining   memberMode = iota // asked the holder where the group is; holds batches
	modeFollowing                   // takes the batches of its term
	modeOwn                         // catches up on a connection of its own; holds batches
	modeBehind                      // its handlers are a whole queue behind
	modeEnded                       // the stream failed for good
	modeClosed
)

type lockState uint8

const (
	lockNone lockState = iota
	lockPending
	lockHeld
)

// NewGroup returns the logic of a member that delivers to d. Call
// [Group.Start] to join.
func NewGroup(cfg GroupConfig, io GroupIO, d *Dispatcher) *Group {
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	g := &Group{cfg: cfg, io: io, d: d, types: make(map[string]bool)}
	if cfg.Cursor {
		g.pos = cfg.LastEventID
	}
	g.hist = &history{limit: Limits{Events: min(GroupHistory.Events, cfg.Limits.Events), Bytes: min(GroupHistory.Bytes, cfg.Limits.Bytes)}}
	g.hist.reset(g.pos)
	for _, t := range cfg.Types {
		g.addType(t)
	}
	g.jitter = time.Duration(cfg.Rand() * float64(GroupBeat))
	return g
}

// Start joins the group and queues for its lock.
func (g *Group) Start(now time.Time) {
	g.touch(now)
	g.heard = now
	g.sendJoin(now)
	g.lock = lockPending
	g.io.RequestLock(false)
}

// Holding reports whether the member holds the group's connection.
func (g *Group) Holding() bool { return g.h != nil }

// active reports whether the member still takes part in the group.
func (g *Group) active() bool { return g.mode != modeEnded && g.mode != modeClosed }

// silentAfter is how long the holder may say nothing before a member
// takes over.
func (g *Group) silentAfter() time.Duration {
	hb := g.hb
	if hb <= 0 {
		hb = groupHeartbeat
	}
	return WatchdogIntervals * max(hb, GroupBeat)
}

// touch notes a call. A holder whose event loop stood still for as long
// as a member waits before it takes over may have been replaced meanwhile:
// it steps down rather than relay what it read before.
func (g *Group) touch(now time.Time) {
	if g.h != nil && !g.lastCall.IsZero() && now.Sub(g.lastCall) >= g.silentAfter() {
		g.stepDown(now, false, true)
	}
	g.lastCall = now
}

// Next returns when the Group wants [Group.Tick], or the zero time.
func (g *Group) Next() time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	switch {
	case !g.active():
	case g.h != nil:
		earlier(g.h.lastPost.Add(GroupBeat))
	case g.lock == lockPending:
		earlier(g.heard.Add(g.silentAfter() + g.jitter))
	}
	if g.mode == modeJoining && !g.joinSent.IsZero() {
		earlier(g.joinSent.Add(g.silentAfter()))
	}
	g.nextAt = next
	return next
}

// Tick does what is due: the holder's beat, a takeover of a silent
// holder, a join that got no answer.
func (g *Group) Tick(now time.Time) {
	late := !g.nextAt.IsZero() && now.Sub(g.nextAt) > GroupBeat
	g.touch(now)
	if !g.active() {
		return
	}
	if late {
		// The member's own timer was held up (a frozen or throttled
		// page): the silence may be its own.
		g.heard = now
	}
	if h := g.h; h != nil {
		if len(h.pending) > 0 {
			g.flush(now)
		} else if now.Sub(h.lastPost) >= GroupBeat {
			g.post(now, &groupMsg{kind: msgBeat, term: h.term.num, n: h.n, pos: h.pos, open: h.open, hb: h.hb})
		}
		return
	}
	if g.mode == modeJoining && now.Sub(g.joinSent) >= g.silentAfter() {
		g.sendJoin(now)
	}
	if g.lock == lockPending && now.Sub(g.heard) >= g.silentAfter()+g.jitter {
		// The holder said nothing for several of its heartbeats: it is
		// frozen, or its tab hangs. Its lock is not released while it is,
		// so take it.
		g.heard = now
		g.io.RequestLock(true)
	}
}

// Sleep notes that the page goes to sleep: k is the wake-up that will
// end it. A holder that is about to be frozen hands the connection over,
// since a frozen tab relays nothing and keeps its lock.
func (g *Group) Sleep(k Wake, now time.Time) {
	g.touch(now)
	if k == WakeResume && g.h != nil {
		g.stepDown(now, true, true)
	}
}

// Wake notes that the page came back: the silence it heard meanwhile may
// be its own.
func (g *Group) Wake(k Wake, now time.Time) {
	g.touch(now)
	g.heard = now
}

// Listen adds an event type the member's handlers want, and tells the
// group.
func (g *Group) Listen(name string, now time.Time) {
	g.touch(now)
	if g.types[name] {
		return
	}
	g.addType(name)
	if !g.active() {
		return
	}
	if g.h != nil {
		g.io.Listen(name)
	}
	g.io.Post(appendMsg(nil, &groupMsg{kind: msgTypes, from: g.cfg.Tab, types: []string{name}}))
}

func (g *Group) addType(name string) bool {
	if g.types[name] {
		return false
	}
	g.types[name] = true
	g.typeList = append(g.typeList, name)
	return true
}

// Granted reports that the member holds the group's lock: it becomes the
// holder, in a new term, and connects from its position.
func (g *Group) Granted(now time.Time) {
	g.touch(now)
	g.lock = lockHeld
	if !g.active() {
		g.lock = lockNone
		g.io.ReleaseLock()
		return
	}
	num := max(g.maxTerm.num+1, uint64(now.UnixMilli()))
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
func (g *Group) Lost(now time.Time) {
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
func (g *Group) stepDown(now time.Time, handOver, again bool) {
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

// Close leaves the group: a holder hands the connection over.
func (g *Group) Close(now time.Time) {
	g.touch(now)
	if g.mode == modeClosed {
		return
	}
	g.stepDown(now, true, false)
	g.leave()
	g.mode = modeClosed
}

// leave disconnects what the member has open and gives up the lock.
func (g *Group) leave() {
	if g.mode == modeOwn {
		g.io.Disconnect(RoleOwn)
	}
	g.dropHeld()
	if g.lock != lockNone {
		g.lock = lockNone
		g.io.ReleaseLock()
	}
}

// Receive handles a message another member posted. Messages that do not
// decode, or are for another member, are ignored.
func (g *Group) Receive(b []byte, now time.Time) {
	g.touch(now)
	m, err := decodeMsg(b)
	if err != nil || !g.active() {
		return
	}
	switch m.kind {
	case msgJoin:
		g.addTypes(m.types)
		if g.h != nil {
			g.flush(now)
			g.post(now, g.h.state(m, g.hist, g.typeList))
		}
		return
	case msgTypes:
		g.addTypes(m.types)
		return
	}
	// The holder's messages: state, batch, beat, bye.
	t := m.holder()
	if t.less(g.maxTerm) {
		return // a holder that was replaced, still catching up
	}
	g.maxTerm, g.heard = t, now
	if m.hb > 0 {
		g.hb = m.hb
	}
	if g.h != nil && g.h.term.less(t) {
		g.stepDown(now, false, true) // a later holder speaks
	}
	if m.to != "" && m.to != g.cfg.Tab {
		return
	}
	if g.mode == modeJoining && m.kind != msgState && now.Sub(g.joinSent) >= GroupBeat {
		g.sendJoin(now) // the holder changed, or the answer was lost
	}
	switch m.kind {
	case msgState:
		g.addTypes(m.types)
		g.onState(m)
	case msgBatch:
		g.onBatch(m)
	case msgBeat:
		switch {
		case g.mode == modeFollowing && (t == g.term && m.n > g.next || g.term.less(t) && m.n > 0):
			g.catchUp(now) // batches were missed
		case g.mode == modeOwn && m.pos != "" && (m.pos == g.pos || atOrBefore(m.pos, g.pos)):
			// The member's own connection has reached the group, which
			// has been quiet since: what the holder numbers from now on
			// comes after.
			g.rejoin(t, m.n)
		}
	}
}

func (g *Group) addTypes(types []string) {
	for _, t := range types {
		if g.addType(t) && g.h != nil {
			g.io.Listen(t)
		}
	}
}

// sendJoin asks the holder for the group's state and for what came after
// the member's position.
func (g *Group) sendJoin(now time.Time) {
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
func (g *Group) catchUp(now time.Time) {
	g.mode = modeJoining
	g.sendJoin(now)
}

// post sends a holder's message.
func (g *Group) post(now time.Time, m *groupMsg) {
	m.from = g.cfg.Tab
	g.io.Post(appendMsg(nil, m))
	if g.h != nil {
		g.h.lastPost = now
	}
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
	g.mode = modeBehind
	g.dropHeld()
	g.io.WaitCaughtUp()
	return false
}

// CaughtUp reports that the handlers of a member that was behind have
// caught up: it asks for what it missed.
func (g *Group) CaughtUp(now time.Time) {
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
func (g *Group) Own(n Notice, now time.Time) {
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
// reached the first held batch.
func (g *Group) trySwitch() {
	if g.mode != modeOwn || len(g.held) == 0 {
		return
	}
	first := g.held[0]
	if from := batchFrom(first); from != g.pos && !atOrBefore(from, g.pos) {
		return
	}
	g.rejoin(first.holder(), first.n)
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

// Local hands the holder a notice of the group's connection: it is
// numbered, kept for members that join behind, delivered to the holder's
// own member and queued for the next batch.
func (g *Group) Local(n Notice, now time.Time) {
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

// Bounds of one batch: past them it goes out at once.
const (
	maxBatch      = 512
	maxBatchBytes = 256 << 10
)

// Flush posts the entries the holder has not posted yet, as one batch.
func (g *Group) Flush(now time.Time) {
	g.touch(now)
	if g.h != nil {
		g.h.flushAsked = false
		g.flush(now)
	}
}

func (g *Group) flush(now time.Time) {
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
	lastPost time.Time

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
