package client_test

import (
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
)

var groupSeeds = flag.Int("group.seeds", 0, "random orders each scenario of the simulated browser runs in (0: 12, 3 in a browser)")

// seeds is how many random orders each scenario of the simulated browser
// runs in: fewer in a browser (make test-wasm), where they are slower and
// the host's -race run has covered them. -group.seeds=1000 looks harder.
func seeds() uint64 {
	switch {
	case *groupSeeds > 0:
		return uint64(*groupSeeds)
	case runtime.GOOS == "js":
		return 3
	}
	return 12
}

// eachSeed runs test for seeds seeds, as parallel subtests.
func eachSeed(t *testing.T, test func(t *testing.T, s *sim)) {
	t.Parallel()
	for seed := range seeds() {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			test(t, newSim(t, seed))
		})
	}
}

// TestGroupOneConnection: ten tabs that start together read one
// connection, and each gets every event once, in order.
func TestGroupOneConnection(t *testing.T) {
	eachSeed(t, func(t *testing.T, s *sim) {
		var tabs []*simTab
		for i := range 10 {
			tabs = append(tabs, s.addTab(fmt.Sprint("tab", i), nil, client.Limits{}))
		}
		s.run(100 * time.Millisecond)
		if h := s.holding(); h == nil {
			t.Fatal("no single holder")
		}
		s.publish(50)
		s.run(50 * time.Millisecond)
		s.publish(150)
		s.run(2 * time.Second)
		if s.connects != 1 {
			t.Errorf("%d connections; want 1", s.connects)
		}
		for _, tb := range tabs {
			tb.expect(t, ids(0, 200))
			if tb.state != client.Open {
				t.Errorf("%s: state %v; want open", tb.name, tb.state)
			}
			if tb.opens != 1 {
				t.Errorf("%s: %d opens; want 1", tb.name, tb.opens)
			}
		}
	})
}

// TestGroupHolderCloses: the holding tab closes mid-stream; another takes
// over from where the group was, and no tab misses or repeats an event,
// nor sees a reset.
func TestGroupHolderCloses(t *testing.T) {
	eachSeed(t, func(t *testing.T, s *sim) {
		var tabs []*simTab
		for i := range 5 {
			tabs = append(tabs, s.addTab(fmt.Sprint("tab", i), nil, client.Limits{}))
		}
		s.run(100 * time.Millisecond)
		s.publish(30)
		// Part of what the holder read is still to be delivered: it
		// closes in the middle of relaying.
		for range 10 + s.rnd.IntN(40) {
			s.step()
		}
		old := s.holding()
		if old == nil {
			t.Fatal("no single holder")
		}
		s.closeTab(old)
		s.publish(30)
		s.run(100 * time.Millisecond)
		s.publish(40)
		s.run(2 * time.Second)
		if h := s.holding(); h == nil || h == old {
			t.Fatalf("holder after the close: %v", h)
		}
		if s.connects != 2 {
			t.Errorf("%d connections; want 2", s.connects)
		}
		for _, tb := range tabs {
			if tb == old {
				continue
			}
			tb.expect(t, ids(0, 100))
			if len(tb.resets) > 0 {
				t.Errorf("%s: resets %v", tb.name, tb.resets)
			}
		}
	})
}

// TestGroupHolderFrozen: the holding tab stops without a word (a freeze
// it was not told of, a hang): the others take over by stealing the lock
// after the silence, and once it runs again it relays nothing of what it
// read meanwhile.
func TestGroupHolderFrozen(t *testing.T) {
	eachSeed(t, func(t *testing.T, s *sim) {
		var tabs []*simTab
		for i := range 4 {
			tabs = append(tabs, s.addTab(fmt.Sprint("tab", i), nil, client.Limits{}))
		}
		s.run(100 * time.Millisecond)
		s.publish(20)
		s.run(100 * time.Millisecond)
		old := s.holding()
		old.frozen = true
		s.publish(20) // reaches the frozen tab's connection, unread
		s.run(10 * time.Second)
		h := s.holding()
		if h == nil {
			t.Fatal("nobody took over")
		}
		s.publish(10)
		s.run(100 * time.Millisecond)
		old.postsSince = 0
		old.frozen = false
		s.publish(10)
		s.run(2 * time.Second)
		if old.postsSince != 0 {
			t.Errorf("the old holder posted %d batches after it woke up; want none", old.postsSince)
		}
		if old.g.Holding() {
			t.Error("the old holder still holds")
		}
		if s.openConns() != 1 {
			t.Errorf("%d connections open; want 1", s.openConns())
		}
		for _, tb := range tabs {
			tb.expect(t, ids(0, 60))
		}
	})
}

// TestGroupFreezeHandsOver: a holder told that its page is about to be
// frozen hands the connection over at once.
func TestGroupFreezeHandsOver(t *testing.T) {
	eachSeed(t, func(t *testing.T, s *sim) {
		var tabs []*simTab
		for i := range 3 {
			tabs = append(tabs, s.addTab(fmt.Sprint("tab", i), nil, client.Limits{}))
		}
		s.run(100 * time.Millisecond)
		s.publish(20)
		s.run(100 * time.Millisecond)
		old := s.holding()
		old.g.Sleep(client.WakeResume, s.now)
		old.frozen = true
		s.publish(10)
		s.run(100 * time.Millisecond) // far less than the silence a steal waits for
		if h := s.holding(); h == nil || h == old {
			t.Fatalf("holder after the freeze: %v", h)
		}
		old.postsSince = 0
		old.frozen = false
		old.g.Wake(client.WakeResume, s.now)
		s.publish(10)
		s.run(time.Second)
		if old.postsSince != 0 {
			t.Errorf("the old holder posted %d batches after it woke up; want none", old.postsSince)
		}
		for _, tb := range tabs {
			tb.expect(t, ids(0, 40))
		}
	})
}

// TestGroupCursor: a tab that joins with a snapshot's cursor behind the
// group gets exactly the events after it: from the holder's history when
// it is recent, from a connection of its own (closed once it has caught
// up) when it is older than the history (1024 events).
func TestGroupCursor(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cursor int
		own    bool
		quiet  bool // nothing is published after the tab joins
	}{
		{"recent", 1100, false, false},
		{"old", 50, true, false},
		{"old, quiet", 50, true, true},
		{"at the group", 1200, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eachSeed(t, func(t *testing.T, s *sim) {
				a := s.addTab("a", nil, client.Limits{})
				b := s.addTab("b", nil, client.Limits{})
				s.run(100 * time.Millisecond)
				s.publish(1200)
				s.run(100 * time.Millisecond)
				cursor := fmt.Sprintf("%s-%d", simEpoch, tt.cursor)
				c := s.addTab("c", &cursor, client.Limits{})
				s.run(100 * time.Millisecond)
				last := 1200
				if !tt.quiet {
					s.publish(20)
					s.run(time.Second)
					s.publish(20)
					last += 40
				}
				s.run(2 * time.Second) // a beat or two
				for _, tb := range []*simTab{a, b} {
					tb.expect(t, ids(0, last))
				}
				c.expect(t, ids(tt.cursor, last))
				if want := map[bool]int{false: 1, true: 2}[tt.own]; s.connects != want {
					t.Errorf("%d connections; want %d", s.connects, want)
				}
				if s.openConns() != 1 {
					t.Errorf("%d connections open at the end; want 1", s.openConns())
				}
			})
		})
	}
}

// TestGroupCursorOtherEpoch: a cursor from another epoch is the server's
// to judge: the tab asks on its own connection and gets the reset.
func TestGroupCursorOtherEpoch(t *testing.T) {
	eachSeed(t, func(t *testing.T, s *sim) {
		a := s.addTab("a", nil, client.Limits{})
		s.run(100 * time.Millisecond)
		s.publish(10)
		s.run(100 * time.Millisecond)
		cursor := "e0-5"
		c := s.addTab("c", &cursor, client.Limits{})
		s.run(100 * time.Millisecond)
		s.publish(10)
		s.run(time.Second)
		a.expect(t, ids(0, 20))
		c.expect(t, ids(10, 20))
		if len(c.resets) != 1 || len(a.resets) != 0 {
			t.Errorf("resets: c %v, a %v; want one for c", c.resets, a.resets)
		}
	})
}

// TestGroupJoinLate: a tab that joins a running group without a cursor
// gets what comes after it joined, once, and the group's state: open.
func TestGroupJoinLate(t *testing.T) {
	eachSeed(t, func(t *testing.T, s *sim) {
		a := s.addTab("a", nil, client.Limits{})
		s.run(100 * time.Millisecond)
		s.publish(10)
		s.run(100 * time.Millisecond)
		b := s.addTab("b", nil, client.Limits{})
		s.run(100 * time.Millisecond)
		s.publish(10)
		s.run(time.Second)
		a.expect(t, ids(0, 20))
		b.expect(t, ids(10, 20))
		if b.state != client.Open || b.opens != 1 {
			t.Errorf("b: state %v, %d opens; want open, 1", b.state, b.opens)
		}
	})
}

// TestGroupBehind: a tab whose handlers fall a whole queue behind drops
// what it cannot queue, and catches up once they are done.
func TestGroupBehind(t *testing.T) {
	eachSeed(t, func(t *testing.T, s *sim) {
		limits := client.Limits{Events: 8, Bytes: 1 << 20}
		a := s.addTab("a", nil, limits)
		b := s.addTab("b", nil, limits)
		s.run(100 * time.Millisecond)
		block := make(chan struct{})
		b.mu.Lock()
		b.block = block
		b.mu.Unlock()
		s.publish(40)
		s.nowait = true // b's handlers wait for the test
		s.run(100 * time.Millisecond)
		s.nowait = false
		b.mu.Lock()
		b.block = nil
		b.mu.Unlock()
		close(block)
		s.run(time.Second)
		s.publish(10)
		s.run(time.Second)
		a.expect(t, ids(0, 50))
		b.expect(t, ids(0, 50))
	})
}

// TestGroupChaos: tabs open (some with a cursor, some with small limits),
// close, freeze with and without warning and come back, while events are
// published, in random orders. Every tab that is still open at the end has every event from
// where it started to the last, once each, in order.
func TestGroupChaos(t *testing.T) {
	eachSeed(t, chaos)
}

func chaos(t *testing.T, s *sim) {
	{
		var tabs []*simTab
		starts := map[*simTab]int{} // the cursor, or -1: from where the group was
		add := func(cursor int) {
			name := fmt.Sprint("tab", len(tabs))
			var c *string
			if cursor >= 0 {
				id := fmt.Sprintf("%s-%d", simEpoch, cursor)
				c = &id
			}
			limits := client.Limits{}
			if s.rnd.IntN(3) == 0 {
				// A short history and queue: tabs catch up on connections
				// of their own, and fall behind.
				limits = client.Limits{Events: 30, Bytes: 1 << 20}
			}
			tb := s.addTab(name, c, limits)
			tabs = append(tabs, tb)
			starts[tb] = cursor
		}
		for range 3 {
			add(-1)
		}
		s.run(100 * time.Millisecond)
		for range 30 {
			s.publish(1 + s.rnd.IntN(20))
			for range s.rnd.IntN(30) {
				s.step()
			}
			var live []*simTab
			for _, tb := range tabs {
				if !tb.closed {
					live = append(live, tb)
				}
			}
			tb := live[s.rnd.IntN(len(live))]
			switch r := s.rnd.IntN(10); {
			case r == 0 && len(live) > 2:
				s.closeTab(tb)
			case r == 1:
				add(-1)
			case r == 2:
				add(max(int(s.seq)-s.rnd.IntN(40), 0))
			case r == 3 && !tb.frozen:
				if s.rnd.IntN(2) == 0 {
					tb.g.Sleep(client.WakeResume, s.now)
				}
				tb.frozen = true
			case r == 4:
				for _, o := range live {
					if o.frozen {
						o.frozen = false
						o.g.Wake(client.WakeResume, s.now)
					}
				}
			}
			s.run(time.Duration(s.rnd.IntN(5000)) * time.Millisecond)
		}
		for _, tb := range tabs {
			if tb.frozen {
				tb.frozen = false
				tb.g.Wake(client.WakeResume, s.now)
			}
		}
		s.publish(5)
		s.run(10 * time.Second)
		// Tabs whose handlers fell behind catch up at the speed of their
		// dispatchers' goroutines, which the simulated clock outruns.
		for range 30 {
			if s.openConns() == 1 && s.waiting == 0 {
				break
			}
			s.run(2 * time.Second)
		}
		total := int(s.seq)
		for _, tb := range tabs {
			if tb.closed {
				continue
			}
			from := starts[tb]
			if from < 0 {
				// Wherever it joined: the check is that the rest is whole.
				first := tb.first(t)
				from = total
				if first != "" {
					n, _ := strconv.Atoi(strings.TrimPrefix(first, simEpoch+"-"))
					from = n - 1
				}
			}
			tb.expect(t, ids(from, total))
		}
		if s.openConns() != 1 {
			t.Errorf("%d connections open at the end; want 1: %s", s.openConns(), s.describeConns())
		}
	}
}
