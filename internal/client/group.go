package client

import (
	"math/rand/v2"
	"time"
)

// GroupBeat is how often the holding tab of a [Group] says it is alive
// when it has nothing to relay.
const GroupBeat = time.Second

// groupHeartbeat stands in for the server's heartbeat interval when its
// hello announced none.
const groupHeartbeat = 15 * time.Second

// groupHistoryEvents and groupHistoryBytes bound what the holding tab of a [Group] keeps of what it
// relayed, to serve a tab that joins behind the group's position (a
// snapshot's cursor) or lost the thread: the last 1024 events or 1 MiB,
// and no more than the tab's [Limits].
const groupHistoryEvents, groupHistoryBytes = 1024, 1 << 20

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
	// history the member keeps while it holds (the last 1024 events or 1 MiB). The
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
	// Wall returns the wall clock in milliseconds since 1970, which every
	// tab of a browser shares: a new term is numbered after it. nil means
	// time.Now().UnixMilli().
	Wall func() int64
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
// replays, by comparing ssekit's IDs; so no member misses or repeats an
// event, and none sees a reset. A holder that is frozen keeps
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
// what it kept after that position (the last 1024 events or 1 MiB). A member too far
// behind for the history, or one that missed messages and whose position
// the holder no longer keeps, reads the stream on a connection of its own
// from its position until that connection reaches the group's, then goes
// back to the group. A member whose handlers fall a whole [Limits] behind
// stops taking batches and catches up the same way once they are done.
//
// A Group is not safe for concurrent use: one goroutine calls its
// methods, each with the time of the call on a monotonic clock of the
// caller's (a time.Duration since any start).
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
	joinSent   time.Duration

	types    map[string]bool
	typeList []string
	hb       time.Duration // the server's heartbeat interval, from the hello
	maxTerm  term          // the latest term heard of
	heard    time.Duration // when the latest holder last spoke, or the member woke up
	spoke    time.Duration // when the latest holder last spoke
	lock     lockState
	jitter   time.Duration
	nextAt   time.Duration // what Next returned, or -1
	lastCall time.Duration // the last call, or -1

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
		cfg.Limits = DefaultLimits()
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Wall == nil {
		cfg.Wall = func() int64 { return time.Now().UnixMilli() }
	}
	g := &Group{cfg: cfg, io: io, d: d, types: make(map[string]bool), nextAt: -1, lastCall: -1}
	if cfg.Cursor {
		g.pos = cfg.LastEventID
	}
	g.hist = &history{limit: Limits{Events: min(groupHistoryEvents, cfg.Limits.Events), Bytes: min(groupHistoryBytes, cfg.Limits.Bytes)}}
	g.hist.reset(g.pos)
	for _, t := range cfg.Types {
		g.addType(t)
	}
	g.jitter = time.Duration(cfg.Rand() * float64(GroupBeat))
	return g
}

// Start joins the group and queues for its lock.
func (g *Group) Start(now time.Duration) {
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
func (g *Group) touch(now time.Duration) {
	if g.h != nil && g.lastCall >= 0 && now-g.lastCall >= g.silentAfter() {
		g.stepDown(now, false, true)
	}
	g.lastCall = now
}

// Next returns when the Group wants [Group.Tick], on the clock of the
// calls; ok is false when it wants none.
func (g *Group) Next() (next time.Duration, ok bool) {
	earlier := func(t time.Duration) {
		if !ok || t < next {
			next, ok = t, true
		}
	}
	switch {
	case !g.active():
	case g.h != nil:
		earlier(g.h.lastPost + GroupBeat)
	case g.lock == lockPending:
		earlier(g.heard + g.silentAfter() + g.jitter)
	}
	if g.mode == modeJoining {
		earlier(g.joinSent + g.silentAfter())
	}
	g.nextAt = -1
	if ok {
		g.nextAt = next
	}
	return next, ok
}

// Tick does what is due: the holder's beat, a takeover of a silent
// holder, a join that got no answer.
func (g *Group) Tick(now time.Duration) {
	late := g.nextAt >= 0 && now-g.nextAt > GroupBeat
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
		} else if (now - h.lastPost) >= GroupBeat {
			g.post(now, &groupMsg{kind: msgBeat, term: h.term.num, n: h.n, pos: h.pos, open: h.open, hb: h.hb})
		}
		return
	}
	if g.mode == modeJoining && (now-g.joinSent) >= g.silentAfter() {
		g.sendJoin(now)
	}
	if g.lock == lockPending && (now-g.heard) >= g.silentAfter()+g.jitter {
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
func (g *Group) Sleep(k Wake, now time.Duration) {
	g.touch(now)
	if k == WakeResume && g.h != nil {
		g.stepDown(now, true, true)
	}
}

// Wake notes that the page came back: the silence it heard meanwhile may
// be its own.
func (g *Group) Wake(k Wake, now time.Duration) {
	g.touch(now)
	g.heard = now
}

// Listen adds an event type the member's handlers want, and tells the
// group.
func (g *Group) Listen(name string, now time.Duration) {
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

// Close leaves the group: a holder hands the connection over.
func (g *Group) Close(now time.Duration) {
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
func (g *Group) Receive(b []byte, now time.Duration) {
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
	if t.less(g.maxTerm) && (g.h != nil || now-g.spoke <= 2*GroupBeat) {
		// A holder that was replaced and has not noticed yet. (Once the
		// latest holder, if not this member, has been silent for two
		// beats while an earlier term speaks, it is gone: it left before
		// the tab that took over heard of it, in the same millisecond,
		// and so numbered its term no higher.)
		return
	}
	g.maxTerm, g.heard, g.spoke = t, now, now
	if m.hb > 0 {
		g.hb = m.hb
	}
	if g.h != nil && g.h.term.less(t) {
		g.stepDown(now, false, true) // a later holder speaks
	}
	if m.to != "" && m.to != g.cfg.Tab {
		return
	}
	if g.mode == modeJoining && m.kind != msgState && (now-g.joinSent) >= GroupBeat {
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
