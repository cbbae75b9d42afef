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
// goroutine, which only finds the send timestamp in each event's payload.
// No client library: the cost of a delivery is the bytes.

type loadgenCmd struct {
	Cmd string `json:"cmd"`
}

type loadgenReply struct {
	Err       string        `json:"err,omitempty"`
	Connected int64         `json:"connected"`
	Headers   int64         `json:"headers"`
	Framed    int64         `json:"framed"` // connections that have read an event
	Frames    int64         `json:"frames"` // timestamped events read (by counted connections)
	Blocks    int64         `json:"blocks"` // everything read: events, warm-up events, comments
	Ended     int64         `json:"ended"`  // connections the server closed
	LastErr   string        `json:"last_err,omitempty"`
	CPU       time.Duration `json:"cpu"`
	Lat       stats.Summary `json:"lat"`     // from the publish call
	LatDue    stats.Summary `json:"lat_due"` // from when the event was due
}

type loadgen struct {
	connected, headers, framed, frames, ended atomic.Int64
	blocks                                    atomic.Int64
	lat, latDue                               stats.Hist
	stall                                     chan struct{} // closed: connection 0 stops reading
	mu                                        sync.Mutex
	lastErr                                   string
}

func childLoadgen(args []string) {
	fs := flag.NewFlagSet("child-loadgen", flag.ExitOnError)
	addr := fs.String("addr", "", "server address")
	path := fs.String("path", "/events", "request URI")
	n := fs.Int("n", 1000, "connections")
	stallRcvbuf := fs.Int("stall-rcvbuf", 0, "if not 0: connection 0 gets this SO_RCVBUF, is left out of the figures and stops reading on the stall command")
	fs.Parse(args)
	raiseNoFile()
	g := &loadgen{stall: make(chan struct{})}
	out := json.NewEncoder(os.Stdout)

	// Connect with bounded concurrency: the listen backlog is finite.
	conns := make([]net.Conn, *n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				d := net.Dialer{Timeout: 10 * time.Second}
				if i == 0 && *stallRcvbuf > 0 {
					size := *stallRcvbuf
					d.Control = func(_, _ string, c syscall.RawConn) error {
						return c.Control(func(fd uintptr) {
							_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
						})
					}
				}
				c, err := d.Dial("tcp", *addr)
				if err != nil {
					g.fail(err)
					continue
				}
				conns[i] = c
				g.connected.Add(1)
			}
		})
	}
	wg.Wait()
	for i, c := range conns {
		if c != nil {
			go g.read(c, *addr, *path, i == 0 && *stallRcvbuf > 0)
		}
	}
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
		case "reset":
			g.frames.Store(0)
			g.lat.Reset()
			g.latDue.Reset()
			out.Encode(g.status())
		case "report":
			r := g.status()
			r.Lat = g.lat.Summary()
			r.LatDue = g.latDue.Summary()
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
		Connected: g.connected.Load(), Headers: g.headers.Load(), Framed: g.framed.Load(),
		Frames: g.frames.Load(), Blocks: g.blocks.Load(), Ended: g.ended.Load(), LastErr: last, CPU: cpu.Self(),
	}
}

// read sends the request on c and reads the stream until it ends. A
// stalling connection counts nothing and stops reading once told to.
func (g *loadgen) read(c net.Conn, host, uri string, stalling bool) {
	defer c.Close()
	s, err := wire.Open(c, host, uri, "")
	if err != nil {
		g.fail(err)
		g.ended.Add(1)
		return
	}
	g.headers.Add(1)
	seen := false
	onBlock := func(b []byte, now time.Time) {
		g.blocks.Add(1)
		if !seen {
			seen = true
			g.framed.Add(1)
		}
		if stalling {
			return
		}
		if due, call, ok := wire.SendTimes(b); ok && due != 0 {
			g.frames.Add(1)
			g.lat.Record(now.Sub(time.Unix(0, call)))
			g.latDue.Record(now.Sub(time.Unix(0, due)))
		}
	}
	for {
		if stalling {
			select {
			case <-g.stall:
				<-make(chan struct{}) // stop reading, keep the connection open
			default:
			}
		}
		if err := s.Read(onBlock); err != nil {
			if !errors.Is(err, wire.ErrEnd) {
				g.fail(err)
			}
			g.ended.Add(1)
			return
		}
	}
}
