package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/ssekit/ssekit/bench/internal/stats"
)

// child is a process of the loopback scenarios (this binary re-executed),
// spoken to in JSON lines.
type child struct {
	name  string
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan []byte
}

// startChild runs this binary with args, pinned to CPU cpuIdx with taskset
// when there is one, with GOMAXPROCS=1.
func startChild(c *config, name string, cpuIdx int, args ...string) (*child, error) {
	argv := append([]string{c.self}, args...)
	env := append(os.Environ(), "GOMAXPROCS=1")
	if c.taskset != "" {
		argv = append([]string{c.taskset, "-c", strconv.Itoa(cpuIdx)}, argv...)
	} else {
		env = env[:len(env)-1] // unpinned: let it use the machine
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{name: name, cmd: cmd, in: in, lines: make(chan []byte, 16)}
	go func() {
		r := bufio.NewReaderSize(out, 64<<10)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				ch.lines <- line
			}
			if err != nil {
				close(ch.lines)
				return
			}
		}
	}()
	return ch, nil
}

// recv reads the child's next reply into v.
func (ch *child) recv(v any, timeout time.Duration) error {
	select {
	case line, ok := <-ch.lines:
		if !ok {
			return fmt.Errorf("%s exited", ch.name)
		}
		if err := json.Unmarshal(line, v); err != nil {
			return fmt.Errorf("%s: %w: %q", ch.name, err, line)
		}
		var e struct {
			Err string `json:"err"`
		}
		_ = json.Unmarshal(line, &e)
		if e.Err != "" {
			return fmt.Errorf("%s: %s", ch.name, e.Err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s: no reply within %v", ch.name, timeout)
	}
}

// call sends a command and reads its reply into v, waiting up to 30s.
func (ch *child) call(cmd, v any) error { return ch.callWithin(cmd, v, 30*time.Second) }

// callWithin is call with a timeout. After a timeout the reply may still
// come, as the reply to the next command: stop the child.
func (ch *child) callWithin(cmd, v any, timeout time.Duration) error {
	b, _ := json.Marshal(cmd)
	if _, err := ch.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", ch.name, err)
	}
	if err := ch.recv(v, timeout); err != nil {
		return fmt.Errorf("%s: %w", b, err)
	}
	return nil
}

// stop asks the child to quit and kills it if it has not within 3s.
func (ch *child) stop() {
	if ch == nil {
		return
	}
	b, _ := json.Marshal(map[string]string{"cmd": "quit"})
	_, _ = ch.in.Write(append(b, '\n'))
	done := make(chan error, 1)
	go func() { done <- ch.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = ch.cmd.Process.Kill()
		<-done
	}
}

// pair is a server process and the load generators connected to it.
type pair struct {
	srv  *child
	lg   *child   // lgs[0], which holds connection 0 (the stalling one)
	lgs  []*child // every load generator
	addr string
	path string
	n    int
	open opening // how a batched opening went
}

type pairOpts struct {
	lib         string
	n           int
	retain      int
	sndbuf      int
	stallRcvbuf int
	// beforeConnect, if set, is called once the server is up and before
	// the load generator starts.
	beforeConnect func(srv *child) error
	// loadgens is the number of load-generator processes (at least 1),
	// all on CPU 1, sharing the connections out; connection 0 of the first
	// is the one stallRcvbuf is for.
	loadgens int
	// batch, if not 0, opens the connections in batches of this many,
	// spread over the load generators, each to be dialled and served
	// within batchTimeout. Connections that fail do not fail the pair:
	// the opening stops at the first batch with a failure, the warm-up
	// leaves out connections that ended, and p.open says what happened.
	batch        int
	batchTimeout time.Duration
	// warmRate is the warm-up's events per second (0: 20), and settle how
	// long nothing must arrive for the warm-up to be over (0: 300ms).
	warmRate float64
	settle   time.Duration
}

// opening is what a batched opening did.
type opening struct {
	took    time.Duration // from the first dial to the last connection served
	slowest time.Duration // the slowest batch
	dialled int64         // connections made
	stopped string        // why the opening stopped short of n, "" when it did not
}

// startPair starts the server process for lib and the load generators with
// n connections to it, and waits until every connection is subscribed: the
// server publishes warm-up events (no send time) until each connection has
// read one (the bare handler publishes nothing: there, until each has read
// its response headers), then the stream is left to settle.
func startPair(c *config, o pairOpts) (p *pair, err error) {
	p = &pair{n: o.n}
	defer func() {
		if err != nil {
			p.stop()
		}
	}()
	p.srv, err = startChild(c, "server("+o.lib+")", 0, "child-server", "-lib", o.lib,
		"-retain", strconv.Itoa(o.retain), "-sndbuf", strconv.Itoa(o.sndbuf))
	if err != nil {
		return p, err
	}
	var hello serverReply
	if err := p.srv.recv(&hello, 30*time.Second); err != nil {
		return p, err
	}
	p.addr, p.path = hello.Addr, hello.Path
	if o.beforeConnect != nil {
		if err := o.beforeConnect(p.srv); err != nil {
			return p, err
		}
	}
	nlg := max(o.loadgens, 1)
	for i := range nlg {
		atStart, stall := share(o.n, nlg, i), 0 // connections it opens as it starts
		if o.batch > 0 {
			atStart = 0
		}
		if i == 0 {
			stall = o.stallRcvbuf
		}
		lg, err := startChild(c, fmt.Sprintf("loadgen %d", i), 1, "child-loadgen", "-addr", p.addr, "-path", p.path,
			"-n", strconv.Itoa(atStart), "-stall-rcvbuf", strconv.Itoa(stall))
		if err != nil {
			return p, err
		}
		p.lgs = append(p.lgs, lg)
	}
	p.lg = p.lgs[0]
	rs := make([]loadgenReply, nlg)
	for i, lg := range p.lgs {
		if err := lg.recv(&rs[i], 120*time.Second); err != nil {
			return p, err
		}
	}
	st := mergeReplies(rs)
	if o.batch > 0 {
		if err := p.openBatched(o.batch, o.batchTimeout); err != nil {
			return p, err
		}
	} else if st.Connected != int64(o.n) {
		return p, fmt.Errorf("load generator connected %d of %d (%s)", st.Connected, o.n, st.LastErr)
	}
	ready := func(st loadgenReply) bool { return st.Framed == int64(o.n) }
	if o.batch > 0 {
		// Every connection made has read an event or ended.
		ready = func(st loadgenReply) bool { return st.Framed+st.Refused >= st.Connected }
	}
	if o.lib == "bare" {
		ready = func(st loadgenReply) bool { return st.Headers == int64(o.n) }
	} else if err := p.srv.call(serverCmd{Cmd: "warm", Rate: o.warmRate}, new(serverReply)); err != nil {
		return p, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err = p.lgStatus(); err != nil {
			return p, err
		}
		if ready(st) {
			break
		}
		if (st.Ended > 0 && o.batch == 0) || time.Now().After(deadline) {
			return p, fmt.Errorf("%d of %d connections subscribed, %d ended (%s)", st.Framed, st.Connected, st.Ended, st.LastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o.lib != "bare" {
		if err := p.srv.call(serverCmd{Cmd: "stop"}, new(serverReply)); err != nil {
			return p, err
		}
	}
	// Settle: nothing arrives for a while (the slower libraries may still
	// be writing warm-up events).
	settle := o.settle
	if settle == 0 {
		settle = 300 * time.Millisecond
	}
	var last int64 = -1
	for since := time.Now(); time.Since(since) < settle; time.Sleep(30 * time.Millisecond) {
		if st, err = p.lgStatus(); err != nil {
			return p, err
		}
		if st.Blocks != last {
			last, since = st.Blocks, time.Now()
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			return p, errors.New("warm-up events still arriving after 30s")
		}
	}
	return p, nil
}

// openBatched opens p.n connections in batches of size, each batch shared
// out over the load generators and dialled at once, and waits after each
// until the server has read a request on every connection made (its
// http.Server's ConnState), so that the figures show the server's accept
// rate and not only the kernel's listen backlog. It stops at the first
// batch that misses timeout or has a failed dial, recording why in p.open.
func (p *pair) openBatched(size int, timeout time.Duration) error {
	start := time.Now()
	for opened := 0; opened < p.n; opened += size {
		k := min(size, p.n-opened)
		t0 := time.Now()
		st, err := p.lgCallEach(func(i int) loadgenCmd {
			return loadgenCmd{Cmd: "connect", N: share(k, len(p.lgs), i), Timeout: timeout}
		})
		if err != nil {
			return err
		}
		p.open.dialled = st.Connected
		var cr serverReply
		for {
			if err := p.srv.call(serverCmd{Cmd: "conns"}, &cr); err != nil {
				return err
			}
			if cr.Served >= st.Connected || time.Since(t0) > timeout {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(t0)
		p.open.took = time.Since(start)
		p.open.slowest = max(p.open.slowest, took)
		switch {
		case st.DialFailed > 0:
			p.open.stopped = fmt.Sprintf("in the batch of %s from connection %s, %d not connected within %v (%s)",
				fmtN(k), fmtN(opened), st.DialFailed, timeout, st.LastErr)
		case cr.Served < st.Connected:
			p.open.stopped = fmt.Sprintf("in the batch of %s from connection %s, the server had read the requests of %s of %s connections after %v",
				fmtN(k), fmtN(opened), fmtN(int(cr.Served)), fmtN(int(st.Connected)), timeout)
		}
		if p.open.stopped != "" {
			return nil
		}
	}
	return nil
}

// share returns load generator i's part of k connections over n.
func share(k, n, i int) int {
	s := k / n
	if i < k%n {
		s++
	}
	return s
}

func (p *pair) stop() {
	var wg sync.WaitGroup
	for _, lg := range p.lgs {
		wg.Go(lg.stop)
	}
	wg.Wait()
	p.srv.stop()
}

func (p *pair) lgStatus() (loadgenReply, error) {
	return p.lgCall(loadgenCmd{Cmd: "status"})
}

// lgCall sends cmd to every load generator at once and returns their
// replies merged (see mergeReplies).
func (p *pair) lgCall(cmd loadgenCmd) (loadgenReply, error) {
	return p.lgCallEach(func(int) loadgenCmd { return cmd })
}

// lgCallEach sends load generator i cmd(i), to all at once, and returns
// their replies merged.
func (p *pair) lgCallEach(cmd func(i int) loadgenCmd) (loadgenReply, error) {
	rs := make([]loadgenReply, len(p.lgs))
	errs := make([]error, len(p.lgs))
	var wg sync.WaitGroup
	for i, lg := range p.lgs {
		wg.Go(func() { errs[i] = lg.call(cmd(i), &rs[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return loadgenReply{}, err
	}
	return mergeReplies(rs), nil
}

// mergeReplies adds up the counts and CPU times of several load
// generators' replies and takes the latency summaries from their merged
// histograms. LastErr is the first one set. One reply is returned as it is.
func mergeReplies(rs []loadgenReply) loadgenReply {
	if len(rs) == 1 {
		return rs[0]
	}
	var m loadgenReply
	var lat, latDue stats.Hist
	for _, r := range rs {
		m.Connected += r.Connected
		m.DialFailed += r.DialFailed
		m.Headers += r.Headers
		m.Framed += r.Framed
		m.Frames += r.Frames
		m.Blocks += r.Blocks
		m.Ended += r.Ended
		m.Refused += r.Refused
		m.CPU += r.CPU
		m.Tracked += r.Tracked
		m.Lost += r.Lost
		m.LostConns += r.LostConns
		m.Dups += r.Dups
		if m.LastErr == "" {
			m.LastErr = r.LastErr
		}
		lat.Merge(r.LatHist)
		latDue.Merge(r.LatDueHist)
	}
	m.Lat, m.LatHist = lat.Summary(), lat.Snapshot()
	m.LatDue, m.LatDueHist = latDue.Summary(), latDue.Snapshot()
	return m
}

// drain waits until the load generators have read want timestamped events,
// or until nothing at all has arrived for quiet, or limit.
func (p *pair) drain(want int64, quiet, limit time.Duration) (loadgenReply, error) {
	deadline := time.Now().Add(limit)
	var last int64 = -1
	since := time.Now()
	for {
		st, err := p.lgStatus()
		if err != nil {
			return st, err
		}
		if st.Frames >= want || time.Now().After(deadline) || time.Since(since) > quiet {
			return st, nil
		}
		if st.Blocks != last {
			last, since = st.Blocks, time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
}
