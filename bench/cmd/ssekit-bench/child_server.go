package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssekit/ssekit/bench/internal/adapter"
	"github.com/ssekit/ssekit/bench/internal/cpu"
	"github.com/ssekit/ssekit/bench/internal/stats"
	"github.com/ssekit/ssekit/bench/internal/wire"
)

// The server process of the loopback scenarios: one library's handler on
// 127.0.0.1 and a publisher, driven by JSON commands on stdin, one per
// line, each answered by one JSON line on stdout.

type serverCmd struct {
	Cmd  string  `json:"cmd"`
	Rate float64 `json:"rate,omitempty"` // start, warm: events per second (warm: 20 when 0)
	GC   bool    `json:"gc,omitempty"`   // usage: collect garbage first
	Path string  `json:"path,omitempty"` // heapprofile: where to write it
}

type serverReply struct {
	Addr string `json:"addr,omitempty"`
	Path string `json:"path,omitempty"`
	Err  string `json:"err,omitempty"`

	// start, stop, mark
	Published uint64        `json:"published,omitempty"`
	Missed    uint64        `json:"missed,omitempty"` // slots skipped when more than 1s behind
	Pub       stats.Summary `json:"pub"`
	Elapsed   time.Duration `json:"elapsed,omitempty"`
	Stuck     time.Duration `json:"stuck,omitempty"` // how long the publish in progress has been running
	First     uint64        `json:"first,omitempty"` // seq of the run's first event
	Last      uint64        `json:"last,omitempty"`  // seq of the last event handed to the library (0: none)

	// usage
	CPU        time.Duration `json:"cpu,omitempty"`
	HeapInuse  uint64        `json:"heap_inuse,omitempty"`
	StackInuse uint64        `json:"stack_inuse,omitempty"`
	Goroutines int           `json:"goroutines,omitempty"`
	RSS        uint64        `json:"rss,omitempty"`
	Writes     uint64        `json:"writes,omitempty"` // write system calls so far

	// conns: the http.Server's connections so far.
	Accepted int64 `json:"accepted,omitempty"`
	Served   int64 `json:"served,omitempty"` // requests read: the handler has the connection
	Closed   int64 `json:"closed,omitempty"`

	Stats map[string]uint64 `json:"stats,omitempty"`
}

func childServer(args []string) {
	fs := flag.NewFlagSet("child-server", flag.ExitOnError)
	libName := fs.String("lib", "ssekit", "library")
	retain := fs.Int("retain", 0, "events retained for replay")
	sndbuf := fs.Int("sndbuf", 0, "SO_SNDBUF of accepted connections (0: the kernel's autotuning)")
	memRate := fs.Int("memprofilerate", 0, "runtime.MemProfileRate for the heapprofile command (0: the default)")
	fs.Parse(args)
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	raiseNoFile()
	lib, err := adapter.ByName(*libName)
	if err != nil {
		fatalf("%v", err)
	}
	srv := lib.New(adapter.Options{Retain: *retain})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("%v", err)
	}
	if *sndbuf > 0 {
		ln = sndbufListener{ln.(*net.TCPListener), *sndbuf}
	}
	mux := http.NewServeMux()
	mux.Handle("/events", srv.Handler())
	var cc connCount
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil, ConnState: cc.track}
	go hs.Serve(ln)

	out := json.NewEncoder(os.Stdout)
	out.Encode(serverReply{Addr: ln.Addr().String(), Path: srv.Path()})
	p := &publisher{srv: srv}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var cmd serverCmd
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			out.Encode(serverReply{Err: err.Error()})
			continue
		}
		var r serverReply
		switch cmd.Cmd {
		case "warm":
			p.start(cmd.Rate, false)
		case "start":
			p.start(cmd.Rate, true)
		case "mark":
			r = p.report(false)
		case "stop":
			r = p.report(true)
		case "usage":
			if cmd.GC {
				runtime.GC()
				runtime.GC()
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			r = serverReply{CPU: cpu.Self(), HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Goroutines: runtime.NumGoroutine(), RSS: rss(), Writes: writeCalls()}
		case "conns":
			r = serverReply{Accepted: cc.accepted.Load(), Served: cc.served.Load(), Closed: cc.closed.Load()}
		case "stats":
			r.Stats = srv.Stats()
		case "heapprofile": // for looking into the idle-memory figures by hand
			runtime.GC()
			if f, err := os.Create(cmd.Path); err != nil {
				r.Err = err.Error()
			} else {
				if err := pprof.WriteHeapProfile(f); err != nil {
					r.Err = err.Error()
				}
				f.Close()
			}
		case "quit":
			out.Encode(serverReply{})
			os.Exit(0)
		default:
			r.Err = "unknown command " + cmd.Cmd
		}
		out.Encode(r)
	}
	os.Exit(0)
}

// publisher publishes at a steady rate with the send time in each payload,
// timing each publish call. A publish that blocks does not block the
// command loop: stop returns at once and reports how long it has been stuck.
type publisher struct {
	srv adapter.Server

	mu      sync.Mutex
	stopped *atomic.Bool
	hist    *stats.Hist
	n       *atomic.Uint64
	missed  *atomic.Uint64
	since   time.Time
	inPub   *atomic.Int64 // start of the publish in progress, Unix ns; 0 when none
	first   uint64        // seq of the run's first event
	last    *atomic.Uint64
	seq     uint64
}

// start starts publishing rate events per second (20 when 0), with send
// times when timed; the warm-up's events have none.
func (p *publisher) start(rate float64, timed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped != nil {
		p.stopped.Store(true)
	}
	stopped, hist, n, missed, inPub, last := new(atomic.Bool), new(stats.Hist), new(atomic.Uint64), new(atomic.Uint64), new(atomic.Int64), new(atomic.Uint64)
	p.stopped, p.hist, p.n, p.missed, p.inPub, p.last, p.since = stopped, hist, n, missed, inPub, last, time.Now()
	interval := 50 * time.Millisecond
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	seq := p.seq
	p.seq += 1 << 40 // a fresh range of sequence numbers for each run
	p.first = seq + 1
	go func() {
		start := time.Now()
		for i := int64(0); !stopped.Load(); i++ {
			due := start.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			} else if d < -time.Second {
				// More than a second behind (the last publish blocked):
				// skip the slots missed rather than burst.
				skip := int64(-d / interval)
				i += skip
				due = due.Add(time.Duration(skip) * interval)
				missed.Add(uint64(skip))
			}
			if stopped.Load() {
				return
			}
			seq++
			t := time.Now()
			var payload []byte
			if timed {
				payload = wire.TimedPayload(seq, due.UnixNano(), t.UnixNano())
			} else {
				payload = wire.Payload(seq, 0)
			}
			inPub.Store(t.UnixNano())
			last.Store(seq)
			err := p.srv.Publish(payload)
			inPub.Store(0)
			if err != nil {
				fmt.Fprintln(os.Stderr, "child-server: publish:", err)
				return
			}
			hist.Record(time.Since(t))
			n.Add(1)
		}
	}()
}

// report returns what was published since the last report and starts
// counting afresh; with stop it also stops publishing.
func (p *publisher) report(stop bool) serverReply {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped == nil {
		return serverReply{Err: "not publishing"}
	}
	if stop {
		p.stopped.Store(true)
	}
	r := serverReply{Published: p.n.Swap(0), Missed: p.missed.Swap(0), Elapsed: time.Since(p.since), First: p.first, Last: p.last.Load()}
	r.Pub = p.hist.Summary()
	if t := p.inPub.Load(); t != 0 {
		r.Stuck = time.Since(time.Unix(0, t))
		r.Pub.Max = max(r.Pub.Max, r.Stuck)
	}
	p.hist.Reset()
	p.since = time.Now()
	return r
}

// sndbufListener sets the send buffer of every accepted connection.
type sndbufListener struct {
	*net.TCPListener
	size int
}

func (l sndbufListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	_ = c.SetWriteBuffer(l.size)
	return c, nil
}

// connCount counts an http.Server's connections through its ConnState
// hook, which costs an atomic add per change of state, never per event.
type connCount struct{ accepted, served, closed atomic.Int64 }

func (cc *connCount) track(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		cc.accepted.Add(1)
	case http.StateActive:
		cc.served.Add(1)
	case http.StateClosed, http.StateHijacked:
		cc.closed.Add(1)
	}
}

// rss returns the process's resident set size from /proc/self/statm, or 0.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// writeCalls returns the process's write system calls so far (syscw in
// /proc/self/io), which, against the events delivered, says how many
// frames a library coalesces into one write. 0 when unknown.
func writeCalls() uint64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "syscw: "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
