package client_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// A simulated browser for the tests of Group: tabs, each with a Group, a
// Dispatcher and the tasks the browser would run for it (messages of the
// channel, one queue per sender as BroadcastChannel orders them; notices
// of each connection; lock callbacks; flushes), run one at a time in a
// random order that a seed fixes; an exclusive lock with a queue and
// steal; a server that numbers events as ssekit does and replays after a
// position; and a clock that moves only when the test says, or when
// nothing else can happen.

const simEpoch = "e1"

// simHeartbeat is the server's heartbeat interval in the hello.
const simHeartbeat = 500 * time.Millisecond

type simEvent struct{ id, data string }

type sim struct {
	t     testing.TB
	rnd   *rand.Rand
	now   time.Duration // the clock of the calls
	tabs  []*simTab
	seq   uint64 // the server's last sequence number
	evs   []simEvent
	conns []*simConn
	// the lock
	holder *simTab
	queue  []*simTab
	// counts
	connects int
	caught   chan *simTab
	waiting  int  // WaitCaughtUp calls not answered yet
	nowait   bool // run does not wait for handlers to catch up
}

type simTab struct {
	s      *sim
	name   string
	g      *client.Group
	d      *client.Dispatcher
	frozen bool
	closed bool
	state  client.ReadyState
	tasks  map[string][]func()
	order  []string // queue names, for a deterministic choice
	conns  map[client.GroupRole]*simConn
	flush  bool
	// posts counts the batches the tab posted, and posted since marks.
	posts, postsSince int

	more chan struct{} // a token: a handler ran

	mu     sync.Mutex
	got    []string // IDs of the events its handlers got, in order
	resets []string
	errs   []error
	opens  int
	block  chan struct{} // when not nil, a handler waits on it
}

type simConn struct {
	tab    *simTab
	role   client.GroupRole
	next   int // index in sim.evs of the next event to deliver
	closed bool
	name   string
}

func newSim(t testing.TB, seed uint64) *sim {
	return &sim{
		t:      t,
		rnd:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		caught: make(chan *simTab, 100),
	}
}

// simError is what the tabs relay of a connection error.
type simError struct{ info client.ConnInfo }

func (e *simError) Error() string { return "sim: " + e.info.Reason }

// addTab opens a tab whose member starts from cursor (if given), with
// limits (zero: the default).
func (s *sim) addTab(name string, cursor *string, limits client.Limits) *simTab {
	tb := &simTab{s: s, name: name, tasks: make(map[string][]func()), conns: make(map[client.GroupRole]*simConn), more: make(chan struct{}, 1)}
	opts := client.Options{Limits: limits}
	cfg := client.GroupConfig{
		Tab:    name,
		Limits: limits,
		Types:  []string{"message"},
		Info: func(err error) (client.ConnInfo, bool) {
			var se *simError
			if errors.As(err, &se) {
				return se.info, true
			}
			return client.ConnInfo{}, false
		},
		Error: func(c client.ConnInfo) error { return &simError{c} },
		Rand:  s.rnd.Float64,
		Wall:  func() int64 { return 1767225600000 + s.now.Milliseconds() },
	}
	if cursor != nil {
		cfg.LastEventID, cfg.Cursor = *cursor, true
		opts.LastEventID = *cursor
	}
	tb.d = client.NewDispatcher(opts)
	tb.d.OnMessage(func(ev sse.Event) {
		tb.mu.Lock()
		block := tb.block
		tb.got = append(tb.got, ev.ID)
		tb.mu.Unlock()
		select {
		case tb.more <- struct{}{}:
		default:
		}
		if block != nil {
			<-block
		}
	})
	tb.d.OnReset(func(reason string) {
		tb.mu.Lock()
		tb.resets = append(tb.resets, reason)
		tb.mu.Unlock()
	})
	tb.d.OnError(func(err error) {
		tb.mu.Lock()
		tb.errs = append(tb.errs, err)
		tb.mu.Unlock()
	})
	tb.d.OnOpen(func() {
		tb.mu.Lock()
		tb.opens++
		tb.mu.Unlock()
	})
	go tb.d.Run()
	s.t.Cleanup(tb.d.Close)
	tb.g = client.NewGroup(cfg, (*simIO)(tb), tb.d)
	s.tabs = append(s.tabs, tb)
	tb.g.Start(s.now)
	return tb
}

func (tb *simTab) push(queue string, task func()) {
	if tb.closed {
		return
	}
	if _, ok := tb.tasks[queue]; !ok {
		tb.order = append(tb.order, queue)
	}
	tb.tasks[queue] = append(tb.tasks[queue], task)
}

func (tb *simTab) runnable() bool {
	if tb.frozen || tb.closed {
		return false
	}
	for _, q := range tb.order {
		if len(tb.tasks[q]) > 0 {
			return true
		}
	}
	return tb.flush
}

// simIO is a tab's GroupIO.
type simIO simTab

func (io *simIO) tab() *simTab { return (*simTab)(io) }

func (io *simIO) Post(msg []byte) {
	tb := io.tab()
	if len(msg) > 0 && msg[0] == 'B' {
		tb.posts++
		tb.postsSince++
	}
	for _, o := range tb.s.tabs {
		if o == tb || o.closed {
			continue
		}
		b := slices.Clone(msg)
		o.push("bus:"+tb.name, func() { o.g.Receive(b, o.s.now) })
	}
}

func (io *simIO) Connect(role client.GroupRole, from string, types []string) {
	tb := io.tab()
	s := tb.s
	s.connects++
	c := &simConn{tab: tb, role: role, name: fmt.Sprintf("conn%d", s.connects)}
	tb.conns[role] = c
	s.conns = append(s.conns, c)
	// The server: the hello carries the position; a position it cannot
	// resume from gets a reset.
	helloID, reset := from, false
	switch p := from; {
	case p == "":
		helloID = simEpoch + "-" + strconv.FormatUint(s.seq, 10)
		c.next = len(s.evs)
	case !strings.HasPrefix(p, simEpoch+"-"):
		reset = true
		helloID = ""
		c.next = len(s.evs)
	default:
		n, _ := strconv.ParseUint(strings.TrimPrefix(p, simEpoch+"-"), 10, 64)
		c.next = int(n) // IDs are e1-1, e1-2, ...: index n is the event after n
		if c.next > len(s.evs) {
			c.next = len(s.evs)
		}
	}
	c.deliver(client.Notice{Kind: client.NoticeOpen})
	hello := fmt.Sprintf(`{"fingerprint":"","heartbeat":%d}`, simHeartbeat.Milliseconds())
	c.deliver(client.Notice{Kind: client.NoticeEvent, Event: sse.Event{Type: schema.HelloEvent, Data: hello, ID: helloID}})
	if reset {
		id := simEpoch + "-" + strconv.FormatUint(s.seq, 10)
		c.deliver(client.Notice{Kind: client.NoticeEvent, Event: sse.Event{Type: schema.ResetEvent, Data: `{"reason":"epoch"}`, ID: id}})
	}
	c.pump()
}

// deliver queues a notice of c for its tab.
func (c *simConn) deliver(n client.Notice) {
	tb := c.tab
	n.Origin = "https://sim.test"
	tb.push(c.name, func() {
		if c.closed {
			return
		}
		if c.role == client.RoleHolder {
			tb.g.Local(n, tb.s.now)
		} else {
			tb.g.Own(n, tb.s.now)
		}
	})
}

// pump queues the events c has not delivered yet.
func (c *simConn) pump() {
	for ; c.next < len(c.tab.s.evs); c.next++ {
		ev := c.tab.s.evs[c.next]
		c.deliver(client.Notice{Kind: client.NoticeEvent, Event: sse.Event{Type: "message", Data: ev.data, ID: ev.id}})
	}
}

func (io *simIO) Disconnect(role client.GroupRole) {
	tb := io.tab()
	if c := tb.conns[role]; c != nil {
		c.closed = true
		delete(tb.conns, role)
	}
}

func (io *simIO) Listen(string) {}

func (io *simIO) RequestLock(steal bool) {
	tb := io.tab()
	s := tb.s
	s.queue = slices.DeleteFunc(s.queue, func(o *simTab) bool { return o == tb })
	if steal {
		if old := s.holder; old != nil && old != tb {
			old.push("lock", func() { old.g.Lost(old.s.now) })
		}
		s.holder = tb
		tb.push("lock", func() { tb.g.Granted(tb.s.now) })
		return
	}
	s.queue = append(s.queue, tb)
	s.grant()
}

func (io *simIO) ReleaseLock() {
	tb := io.tab()
	s := tb.s
	s.queue = slices.DeleteFunc(s.queue, func(o *simTab) bool { return o == tb })
	if s.holder == tb {
		s.holder = nil
		s.grant()
	}
}

// grant gives a free lock to the first in the queue.
func (s *sim) grant() {
	if s.holder != nil || len(s.queue) == 0 {
		return
	}
	tb := s.queue[0]
	s.queue = s.queue[1:]
	s.holder = tb
	tb.push("lock", func() { tb.g.Granted(tb.s.now) })
}

func (io *simIO) ScheduleFlush() { io.tab().flush = true }

func (io *simIO) WaitCaughtUp() {
	tb := io.tab()
	tb.s.waiting++
	go func() {
		tb.d.WaitCaughtUp(nil)
		tb.s.caught <- tb
	}()
}

func (io *simIO) SetState(st client.ReadyState) { io.tab().state = st }

// publish publishes n events on the server.
func (s *sim) publish(n int) {
	for range n {
		s.seq++
		s.evs = append(s.evs, simEvent{id: simEpoch + "-" + strconv.FormatUint(s.seq, 10), data: strconv.FormatUint(s.seq, 10)})
	}
	for _, c := range s.conns {
		if !c.closed {
			c.pump()
		}
	}
}

// step runs one task of a random runnable tab, and reports whether there
// was one.
func (s *sim) step() bool {
	select {
	case tb := <-s.caught:
		s.waiting--
		tb.push("caught", func() { tb.g.CaughtUp(tb.s.now) })
	default:
	}
	var ready []*simTab
	for _, tb := range s.tabs {
		if tb.runnable() {
			ready = append(ready, tb)
		}
	}
	if len(ready) == 0 {
		return false
	}
	tb := ready[s.rnd.IntN(len(ready))]
	var queues []string
	for _, q := range tb.order {
		if len(tb.tasks[q]) > 0 {
			queues = append(queues, q)
		}
	}
	// A flush comes after the tasks that were queued before it, mostly.
	if tb.flush && (len(queues) == 0 || s.rnd.IntN(4) == 0) {
		tb.flush = false
		tb.g.Flush(s.now)
		return true
	}
	q := queues[s.rnd.IntN(len(queues))]
	task := tb.tasks[q][0]
	tb.tasks[q] = tb.tasks[q][1:]
	task()
	return true
}

// run runs tasks until none is left, advancing the clock by at most d in
// steps of tick meanwhile, with the timers of the tabs that are not
// frozen.
func (s *sim) run(d time.Duration) {
	s.t.Helper()
	end := s.now + d
	for i := 0; ; i++ {
		if i > 1_000_000 {
			s.t.Fatal("sim: no end in sight")
		}
		if s.step() {
			continue
		}
		if s.now >= end {
			if s.waitCaught() {
				continue
			}
			return
		}
		s.now += min(10*time.Millisecond, end-s.now)
		s.ticks()
	}
}

// waitCaught waits for a dispatcher whose handlers are catching up, and
// reports whether there was one.
func (s *sim) waitCaught() bool {
	if s.waiting == 0 || s.nowait {
		return false
	}
	select {
	case tb := <-s.caught:
		s.waiting--
		tb.push("caught", func() { tb.g.CaughtUp(tb.s.now) })
	case <-time.After(5 * time.Second):
		s.t.Fatal("sim: the handlers did not catch up within 5s")
	}
	return true
}

func (s *sim) ticks() {
	for _, tb := range s.tabs {
		if tb.frozen || tb.closed {
			continue
		}
		if next, ok := tb.g.Next(); ok && s.now >= next {
			tb.g.Tick(s.now)
		}
	}
}

// closeTab closes tb as a browser closes a tab: no goodbye; the lock and
// its requests go.
func (s *sim) closeTab(tb *simTab) {
	tb.closed = true
	tb.tasks = map[string][]func(){}
	for _, c := range tb.conns {
		c.closed = true
	}
	s.queue = slices.DeleteFunc(s.queue, func(o *simTab) bool { return o == tb })
	if s.holder == tb {
		s.holder = nil
		s.grant()
	}
}

func (s *sim) holding() *simTab {
	var hs []*simTab
	for _, tb := range s.tabs {
		if !tb.closed && !tb.frozen && tb.g.Holding() {
			hs = append(hs, tb)
		}
	}
	if len(hs) != 1 {
		return nil
	}
	return hs[0]
}

// openConns counts the connections open now.
func (s *sim) openConns() int {
	n := 0
	for _, c := range s.conns {
		if !c.closed && !c.tab.closed {
			n++
		}
	}
	return n
}

// describeConns lists the connections open now.
func (s *sim) describeConns() string {
	var d []string
	for _, c := range s.conns {
		if !c.closed && !c.tab.closed {
			d = append(d, fmt.Sprintf("%s of %s (role %d, frozen %v): %s", c.name, c.tab.name, c.role, c.tab.frozen, client.GroupDebug(c.tab.g)))
		}
	}
	return strings.Join(d, "; ")
}

// ids returns the IDs of the events e1-(from+1) to e1-to.
func ids(from, to int) []string {
	var s []string
	for i := from + 1; i <= to; i++ {
		s = append(s, simEpoch+"-"+strconv.Itoa(i))
	}
	return s
}

// expect waits until tb's handlers have had len(want) events and its
// queue is empty (or 5 s have passed), and compares.
func (tb *simTab) expect(t testing.TB, want []string) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond) // a hello runs no handler of the test's
	defer tick.Stop()
	var got []string
	for {
		tb.mu.Lock()
		got = slices.Clone(tb.got)
		tb.mu.Unlock()
		if q, _ := tb.d.Queued(); len(got) >= len(want) && q == 0 {
			break
		}
		select {
		case <-tb.more: // the dispatcher's goroutine delivered more
			continue
		case <-tick.C:
			continue
		case <-deadline.C:
		}
		break
	}
	if !slices.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		at := ""
		if i < len(want) {
			at = want[i]
		}
		t.Errorf("%s got %d events %s; want %d events %s: they differ at %d (%s)\n\t%s", tb.name, len(got), summary(got), len(want), summary(want), i, at, client.GroupDebug(tb.g))
	}
}

// first returns the ID of the first event tb's handlers got, once its
// dispatcher has delivered what it was given ("" if none).
func (tb *simTab) first(t testing.TB) string {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if q, _ := tb.d.Queued(); q == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: the dispatcher did not deliver its queue within 5s", tb.name)
		}
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.got) == 0 {
		return ""
	}
	return tb.got[0]
}

func summary(ids []string) string {
	if len(ids) <= 12 {
		return fmt.Sprint(ids)
	}
	return fmt.Sprint(ids[:6], " ... ", ids[len(ids)-6:])
}
