package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssekit/ssekit/bench/internal/cpu"
	"github.com/ssekit/ssekit/bench/internal/stats"
	"github.com/ssekit/ssekit/bench/internal/wire"
)

// The load generator process of the loopback scenarios: N raw TCP
// connections to the server's event stream, each read by its own
// goroutine, which only finds the send timestamp and the sequence number
// in each event's payload. No client library: the cost of a delivery is
// the bytes.

type loadgenCmd struct {
	Cmd string `json:"cmd"`
	// connect: open N more connections, each dialled within Timeout.
	N       int           `json:"n,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	// check: the sequence numbers published, First to Last.
	First uint64 `json:"first,omitempty"`
	Last  uint64 `json:"last,omitempty"`
}

type loadgenReply struct {
	Err        string        `json:"err,omitempty"`
	Connected  int64         `json:"connected"`
	DialFailed int64         `json:"dial_failed,omitempty"` // dials that failed or were not made in time
	Headers    int64         `json:"headers"`
	Framed     int64         `json:"framed"`            // connections that have read an event
	Frames     int64         `json:"frames"`            // timestamped events read (by counted connections)
	Blocks     int64         `json:"blocks"`            // everything read: events, warm-up events, comments
	Ended      int64         `json:"ended"`             // connections the server closed
	Refused    int64         `json:"refused,omitempty"` // of those, ended before reading any event (an error status, a reset)
	LastErr    string        `json:"last_err,omitempty"`
	CPU        time.Duration `json:"cpu"`
	Lat        stats.Summary `json:"lat"`     // from the publish call
	LatDue     stats.Summary `json:"lat_due"` // from when the event was due

	// report: the histograms behind Lat and LatDue, for merging the
	// replies of several load generators.
	LatHist    stats.Snapshot `json:"lat_hist"`
	LatDueHist stats.Snapshot `json:"lat_due_hist"`

	// reset: the connections whose events check will look at (subscribed
	// and open at the reset).
	Tracked int64 `json:"tracked,omitempty"`
	// check: of the timestamped events First to Last, those the tracked
	// connections did not read, how many connections missed any, and
	// events read again or out of order.
	Lost      uint64 `json:"lost,omitempty"`
	LostConns int64  `json:"lost_conns,omitempty"`
	Dups      uint64 `json:"dups,omitempty"`
}

type loadgen struct {
	addr, path  string
	stallRcvbuf int

	stall chan struct{} // closed: connection 0 stops reading

	dialled                         atomic.Int64 // dials made or being made, which numbers the connections
	connected, dialFailed           atomic.Int64
	headers, framed, ended, refused atomic.Int64
	frames, blocks                  atomic.Int64
	lat, latDue                     stats.Hist

	mu      sync.Mutex
	lastErr string
	conns   []*lgConn
}

// lgConn is what the load generator knows of one connection's events, for
// the check that each reads every event once and in order. Its reader
// writes it; the command loop reads it between publishing runs.
type lgConn struct {
	stalling bool
	framed   atomic.Bool
	ended    atomic.Bool
	tracked  atomic.Bool   // subscribed and open at the last reset
	first    atomic.Uint64 // seq of the first timestamped event since the reset; 0 before one
	next     atomic.Uint64 // seq expected next
	gaps     atomic.Uint64 // events skipped between first and next
	dups     atomic.Uint64 // events at or before one already read
}

// saw records the timestamped event seq.
func (s *lgConn) saw(seq uint64) {
	switch next := s.next.Load(); {
	case next == 0:
		s.first.Store(seq)
		s.next.Store(seq + 1)
	case seq == next:
		s.next.Store(seq + 1)
	case seq > next:
		s.gaps.Add(seq - next)
		s.next.Store(seq + 1)
	default:
		s.dups.Add(1)
	}
}

// lost returns how many of the events first to last the stream missed.
func (s *lgConn) lost(first, last uint64) uint64 {
	got1, next := s.first.Load(), s.next.Load()
	switch {
	case last < first: // nothing was published
		return 0
	case next == 0:
		return last - first + 1
	}
	n := s.gaps.Load()
	if got1 > first {
		n += got1 - first
	}
	if next-1 < last {
		n += last - (next - 1)
	}
	return n
}

func childLoadgen(args []string) {
	fs := flag.NewFlagSet("child-loadgen", flag.ExitOnError)
	addr := fs.String("addr", "", "server address")
	path := fs.String("path", "/events", "request URI")
	n := fs.Int("n", 1000, "connections opened at start (more with the connect command)")
	stallRcvbuf := fs.Int("stall-rcvbuf", 0, "if not 0: connection 0 gets this SO_RCVBUF, is left out of the figures and stops reading on the stall command")
	fs.Parse(args)
	raiseNoFile()
	g := &loadgen{addr: *addr, path: *path, stallRcvbuf: *stallRcvbuf, stall: make(chan struct{})}
	out := json.NewEncoder(os.Stdout)

	g.connect(*n, 10*time.Second)
	out.Encode(g.status())

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var cmd loadgenCmd
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			out.Encode(loadgenReply{Err: err.Error()})
			continue
		}
		switch cmd.Cmd {
		case "status":
			out.Encode(g.status())
		case "connect":
			g.connect(cmd.N, cmd.Timeout)
			out.Encode(g.status())
		case "reset":
			g.frames.Store(0)
			g.lat.Reset()
			g.latDue.Reset()
			r := g.status()
			r.Tracked = g.track()
			out.Encode(r)
		case "report":
			r := g.status()
			r.Lat, r.LatHist = g.lat.Summary(), g.lat.Snapshot()
			r.LatDue, r.LatDueHist = g.latDue.Summary(), g.latDue.Snapshot()
			out.Encode(r)
		case "check":
			r := g.status()
			r.Tracked, r.Lost, r.LostConns, r.Dups = g.check(cmd.First, cmd.Last)
			out.Encode(r)
		case "stall":
			close(g.stall)
			out.Encode(g.status())
		case "quit":
			out.Encode(g.status())
			os.Exit(0)
		default:
			out.Encode(loadgenReply{Err: "unknown command " + cmd.Cmd})
		}
	}
	os.Exit(0)
}

// connect dials n more connections, 64 at a time (the listen backlog is
// finite), and starts each one's reader as soon as it is connected. It
// returns once every dial has returned; dials not started within timeout
// (10s when 0) are not made and count as failed.
func (g *loadgen) connect(n int, timeout time.Duration) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(64, n) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				idx := g.dialled.Add(1) - 1
				left := time.Until(deadline)
				if left <= 0 {
					g.dialFailed.Add(1)
					g.fail(errors.New("dial not made within the batch's deadline"))
					continue
				}
				d := net.Dialer{Timeout: left}
				stalling := idx == 0 && g.stallRcvbuf > 0
				if stalling {
					size := g.stallRcvbuf
					d.Control = func(_, _ string, c syscall.RawConn) error {
						return c.Control(func(fd uintptr) {
							_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
						})
					}
				}
				c, err := d.Dial("tcp", g.addr)
				if err != nil {
					g.dialFailed.Add(1)
					g.fail(err)
					continue
				}
				g.connected.Add(1)
				s := &lgConn{stalling: stalling}
				g.mu.Lock()
				g.conns = append(g.conns, s)
				g.mu.Unlock()
				go g.read(c, s)
			}
		})
	}
	wg.Wait()
}

func (g *loadgen) fail(err error) {
	g.mu.Lock()
	g.lastErr = err.Error()
	g.mu.Unlock()
}

func (g *loadgen) status() loadgenReply {
	g.mu.Lock()
	last := g.lastErr
	g.mu.Unlock()
	return loadgenReply{
		Connected: g.connected.Load(), DialFailed: g.dialFailed.Load(), Headers: g.headers.Load(), Framed: g.framed.Load(),
		Frames: g.frames.Load(), Blocks: g.blocks.Load(), Ended: g.ended.Load(), Refused: g.refused.Load(), LastErr: last, CPU: cpu.Self(),
	}
}

// track starts the event check afresh: it is to cover the connections
// subscribed and open now. It returns how many those are.
func (g *loadgen) track() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var n int64
	for _, s := range g.conns {
		on := !s.stalling && s.framed.Load() && !s.ended.Load()
		s.tracked.Store(on)
		s.first.Store(0)
		s.next.Store(0)
		s.gaps.Store(0)
		s.dups.Store(0)
		if on {
			n++
		}
	}
	return n
}

// check returns, over the connections tracked since the last reset, how
// many of the events first to last they missed, how many connections
// missed any, and how many events were read again or out of order.
func (g *loadgen) check(first, last uint64) (tracked int64, lost uint64, lostConns int64, dups uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.conns {
		if !s.tracked.Load() {
			continue
		}
		tracked++
		if first != 0 {
			if l := s.lost(first, last); l > 0 {
				lost += l
				lostConns++
			}
		}
		dups += s.dups.Load()
	}
	return tracked, lost, lostConns, dups
}

// read sends the request on c and reads the stream until it ends. A
// stalling connection counts nothing and stops reading once told to.
func (g *loadgen) read(c net.Conn, st *lgConn) {
	defer c.Close()
	end := func(err error) {
		if err != nil && !errors.Is(err, wire.ErrEnd) {
			g.fail(err)
		}
		st.ended.Store(true)
		if !st.framed.Load() {
			g.refused.Add(1)
		}
		g.ended.Add(1)
	}
	s, err := wire.Open(c, g.addr, g.path, "")
	if err != nil {
		end(err)
		return
	}
	g.headers.Add(1)
	onBlock := func(b []byte, now time.Time) {
		g.blocks.Add(1)
		if !st.framed.Load() {
			st.framed.Store(true)
			g.framed.Add(1)
		}
		if st.stalling {
			return
		}
		if due, call, ok := wire.SendTimes(b); ok && due != 0 {
			g.frames.Add(1)
			g.lat.Record(now.Sub(time.Unix(0, call)))
			g.latDue.Record(now.Sub(time.Unix(0, due)))
			if seq, ok := wire.Seq(b); ok {
				st.saw(seq)
			}
		}
	}
	for {
		if st.stalling {
			select {
			case <-g.stall:
				<-make(chan struct{}) // stop reading, keep the connection open
			default:
			}
		}
		if err := s.Read(onBlock); err != nil {
			end(err)
			return
		}
	}
}
