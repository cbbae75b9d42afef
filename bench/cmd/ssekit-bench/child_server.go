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
	Rate float64 `json:"rate,omitempty"` // start: events per second
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

	// usage
	CPU        time.Duration `json:"cpu,omitempty"`
	HeapInuse  uint64        `json:"heap_inuse,omitempty"`
	StackInuse uint64        `json:"stack_inuse,omitempty"`
	Goroutines int           `json:"goroutines,omitempty"`

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
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
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
			p.start(0)
		case "start":
			p.start(cmd.Rate)
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
			r = serverReply{CPU: cpu.Self(), HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Goroutines: runtime.NumGoroutine()}
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
	seq     uint64
}

// start starts publishing rate events per second; rate 0 is the warm-up:
// an event every 50ms with no send time.
func (p *publisher) start(rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped != nil {
		p.stopped.Store(true)
	}
	stopped, hist, n, missed, inPub := new(atomic.Bool), new(stats.Hist), new(atomic.Uint64), new(atomic.Uint64), new(atomic.Int64)
	p.stopped, p.hist, p.n, p.missed, p.inPub, p.since = stopped, hist, n, missed, inPub, time.Now()
	interval := 50 * time.Millisecond
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	seq := p.seq
	p.seq += 1 << 40 // a fresh range of sequence numbers for each run
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
			if rate > 0 {
				payload = wire.TimedPayload(seq, due.UnixNano(), t.UnixNano())
			} else {
				payload = wire.Payload(seq, 0)
			}
			inPub.Store(t.UnixNano())
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
	r := serverReply{Published: p.n.Swap(0), Missed: p.missed.Swap(0), Elapsed: time.Since(p.since)}
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
