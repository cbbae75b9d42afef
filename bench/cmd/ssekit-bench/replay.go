package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ssekit/ssekit/bench/internal/adapter"
	"github.com/ssekit/ssekit/bench/internal/cpu"
	"github.com/ssekit/ssekit/bench/internal/wire"
)

const (
	replayTable    = "6a. Replay after a reconnection"
	retentionTable = "6b. Retention: heap after 1,000,000 publishes"
)

// replayRetain is the number of events every library is told to keep.
const replayRetain = 10000

func runReplay(ctx context.Context, c *config) error {
	rec := c.rec
	rec.Intro(replayTable, fmt.Sprintf("A server with replay (ssekit's memory broker with WithRetention(%s, 0); go-sse's Joe with NewFiniteReplayer(%s, true); r3labs with AutoReplay, "+
		"which keeps every event), on 127.0.0.1 in this process. A raw reader subscribes, reads an event, notes its id and disconnects; 1,000 events are published; a new "+
		"connection sends Last-Event-ID with the noted id. The figure is the time from dialling to reading the 1,000th missed event.", fmtN(replayRetain), fmtN(replayRetain)))
	for round := range c.rounds {
		for _, lib := range rotate(peers(), round) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res, err := replayRun(lib)
			if err != nil {
				rec.Fail(replayTable, lib.Name(), err)
				continue
			}
			rec.Add(replayTable, "time to the last of 1,000 replayed events", "ns", lower, lib.Name(), round, float64(res.took))
			rec.Add(replayTable, "missed events replayed", "", neither, lib.Name(), round, float64(res.missed))
			rec.Add(replayTable, "events replayed that the client already had", "", neither, lib.Name(), round, float64(res.dups))
		}
	}

	rec.Gap(replayTable, "replayed", "Replay: ssekit sends the replay through its normal writer (the hello, then the 1,000 frames in 64 KiB writes, one flush); go-sse "+
		"writes each replayed event into net/http's buffered writer and flushes once. Both take a couple of milliseconds and the spread across rounds is as large as the gap.")
	rec.Gap(retentionTable, "time per publish", "Time per publish: ssekit's publish encodes the value with the schema's codec (the peers take "+
		"bytes), builds the message with room for the id line, stores it in the topic's ring-buffer log and returns the ID as a string; r3labs "+
		"allocates the event and appends to a slice that only grows.")
	publishes := 1_000_000
	rec.Intro(retentionTable, fmt.Sprintf("A fresh server with the retention of 6a and no subscriber; %s events with fresh 100-byte payloads are published, then the garbage "+
		"collector runs twice. The figure is the growth of HeapInuse. r3labs has no bound: AutoReplay keeps every event (turning it off keeps none and "+
		"disables Last-Event-ID). Time per publish is process CPU time (publisher, the libraries' goroutines and the garbage collector).", fmtN(publishes)))
	for round := range pick(c, 1, 2) {
		for _, lib := range rotate(peers(), round) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			heap, per, err := retentionRun(lib, publishes)
			if err != nil {
				rec.Fail(retentionTable, lib.Name(), err)
				continue
			}
			rec.Add(retentionTable, "heap in use after the publishes", "B", lower, lib.Name(), round, heap)
			rec.Add(retentionTable, "time per publish", "ns", lower, lib.Name(), round, float64(per))
		}
	}
	rec.Note(replayTable, "r3labs resends the event whose id the client sent (it replays ids >= Last-Event-ID), so the client gets one duplicate; its ids are positions in its "+
		"unbounded event log.")
	return nil
}

// rawReader reads one connection's stream in the background and remembers
// the payloads it read.
type rawReader struct {
	conn net.Conn
	mu   sync.Mutex
	cond *sync.Cond
	seqs []uint64
	ids  []string
	err  error
}

func dialReader(addr, uri, lastID string) (*rawReader, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &rawReader{conn: c}
	r.cond = sync.NewCond(&r.mu)
	go func() {
		s, err := wire.Open(c, addr, uri, lastID)
		for err == nil {
			err = s.Read(func(b []byte, _ time.Time) {
				if f, ok := wire.ParseFrame(b); ok {
					r.mu.Lock()
					r.seqs = append(r.seqs, f.Seq)
					r.ids = append(r.ids, string(f.ID))
					r.cond.Broadcast()
					r.mu.Unlock()
				}
			})
		}
		r.mu.Lock()
		r.err = err
		r.cond.Broadcast()
		r.mu.Unlock()
	}()
	return r, nil
}

// waitSeq waits until the reader has read the event with seq and returns
// its index, or fails after limit.
func (r *rawReader) waitSeq(seq uint64, limit time.Duration) (int, error) {
	timer := time.AfterFunc(limit, func() {
		r.mu.Lock()
		if r.err == nil {
			r.err = errors.New("timed out")
		}
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; ; {
		for ; i < len(r.seqs); i++ {
			if r.seqs[i] == seq {
				return i, nil
			}
		}
		if r.err != nil {
			return 0, fmt.Errorf("waiting for event %d: %w", seq, r.err)
		}
		r.cond.Wait()
	}
}

func (r *rawReader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seqs)
}

type replayResult struct {
	took         time.Duration
	missed, dups int
}

func replayRun(lib adapter.Library) (res replayResult, err error) {
	srv := lib.New(adapter.Options{Retain: replayRetain})
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	addr := ln.Addr().String()

	// Subscribe, and read one event to note its id.
	a, err := dialReader(addr, srv.Path(), "")
	if err != nil {
		return res, err
	}
	var seq uint64
	for a.count() == 0 {
		seq++
		if err := srv.Publish(wire.Payload(seq, 0)); err != nil {
			return res, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	seq++
	if err := srv.Publish(wire.Payload(seq, 0)); err != nil {
		return res, err
	}
	i, err := a.waitSeq(seq, 10*time.Second)
	if err != nil {
		return res, err
	}
	a.mu.Lock()
	lastID := a.ids[i]
	a.mu.Unlock()
	a.conn.Close()
	from := seq

	// 1,000 events the client misses.
	for range 1000 {
		seq++
		if err := srv.Publish(wire.Payload(seq, 0)); err != nil {
			return res, err
		}
	}
	if err := settled(srv, int(seq)); err != nil {
		return res, err
	}

	t0 := time.Now()
	b, err := dialReader(addr, srv.Path(), lastID)
	if err != nil {
		return res, err
	}
	defer b.conn.Close()
	if _, err := b.waitSeq(seq, 30*time.Second); err != nil {
		return res, err
	}
	res.took = time.Since(t0)
	b.mu.Lock()
	for _, s := range b.seqs {
		switch {
		case s > from && s <= seq:
			res.missed++
		case s <= from:
			res.dups++
		}
	}
	b.mu.Unlock()
	return res, nil
}

// settled waits until the library has taken in n publishes: r3labs
// publishes through a channel to its stream's goroutine.
func settled(srv adapter.Server, n int) error {
	l, ok := srv.(interface{ Logged() int })
	if !ok {
		return nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for l.Logged() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("r3labs logged %d of %d events after 60s", l.Logged(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func retentionRun(lib adapter.Library, n int) (heap float64, per time.Duration, err error) {
	debug.FreeOSMemory()
	before := heapInuse()
	srv := lib.New(adapter.Options{Retain: replayRetain})
	defer srv.Close()
	c0 := cpu.Self()
	for i := range n {
		if err := srv.Publish(wire.Payload(uint64(i+1), 0)); err != nil {
			return 0, 0, err
		}
	}
	if err := settled(srv, n); err != nil {
		return 0, 0, err
	}
	per = (cpu.Self() - c0) / time.Duration(n)
	after := heapInuse()
	runtime.KeepAlive(srv)
	return float64(after) - float64(before), per, nil
}

// moduleDir finds the bench module's directory: the working directory or
// one of its parents, or a bench folder in one of them.
func moduleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		for _, cand := range []string{d, d + "/bench"} {
			if b, err := os.ReadFile(cand + "/go.mod"); err == nil && strings.Contains(string(b), "module github.com/ssekit/ssekit/bench\n") {
				return cand, nil
			}
		}
		parent := d[:max(strings.LastIndexByte(d, '/'), 0)]
		if parent == d || parent == "" {
			return "", fmt.Errorf("no bench module (github.com/ssekit/ssekit/bench) at or above %s: run from the bench folder", dir)
		}
		d = parent
	}
}
