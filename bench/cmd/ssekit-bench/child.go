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
	"time"
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

// call sends a command and reads its reply into v.
func (ch *child) call(cmd, v any) error {
	b, _ := json.Marshal(cmd)
	if _, err := ch.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", ch.name, err)
	}
	return ch.recv(v, 30*time.Second)
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

// pair is a server process and a load generator connected to it.
type pair struct {
	srv, lg *child
	addr    string
	path    string
	n       int
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
}

// startPair starts the server process for lib and a load generator with n
// connections to it, and waits until every connection is subscribed: the
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
	p.lg, err = startChild(c, "loadgen", 1, "child-loadgen", "-addr", p.addr, "-path", p.path,
		"-n", strconv.Itoa(o.n), "-stall-rcvbuf", strconv.Itoa(o.stallRcvbuf))
	if err != nil {
		return p, err
	}
	var st loadgenReply
	if err := p.lg.recv(&st, 120*time.Second); err != nil {
		return p, err
	}
	if st.Connected != int64(o.n) {
		return p, fmt.Errorf("load generator connected %d of %d (%s)", st.Connected, o.n, st.LastErr)
	}
	ready := func(st loadgenReply) bool { return st.Framed == int64(o.n) }
	if o.lib == "bare" {
		ready = func(st loadgenReply) bool { return st.Headers == int64(o.n) }
	} else if err := p.srv.call(serverCmd{Cmd: "warm"}, new(serverReply)); err != nil {
		return p, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := p.lg.call(loadgenCmd{Cmd: "status"}, &st); err != nil {
			return p, err
		}
		if ready(st) {
			break
		}
		if st.Ended > 0 || time.Now().After(deadline) {
			return p, fmt.Errorf("%d of %d connections subscribed, %d ended (%s)", st.Framed, o.n, st.Ended, st.LastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o.lib != "bare" {
		if err := p.srv.call(serverCmd{Cmd: "stop"}, new(serverReply)); err != nil {
			return p, err
		}
	}
	// Settle: nothing arrives for 300ms (the slower libraries may still
	// be writing warm-up events).
	var last int64 = -1
	for since := time.Now(); time.Since(since) < 300*time.Millisecond; time.Sleep(30 * time.Millisecond) {
		if err := p.lg.call(loadgenCmd{Cmd: "status"}, &st); err != nil {
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

func (p *pair) stop() {
	p.lg.stop()
	p.srv.stop()
}

func (p *pair) lgStatus() (loadgenReply, error) {
	var st loadgenReply
	err := p.lg.call(loadgenCmd{Cmd: "status"}, &st)
	return st, err
}

// drain waits until the load generator has read want timestamped events,
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
