package server

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool writes streams whose frames are waiting on a few goroutines, one per
// core to begin with, instead of waking each stream's own goroutine for
// each event: an event to N streams costs N writes from a loop, as it would
// in a single-goroutine fan-out, spread over every core.
//
// A stream is on the ready queue at most once (conn.scheduled), so the
// queue holds at most as many entries as there are streams. A worker that
// is stuck in a write (a client whose socket is full: briefly, for a
// client that reads slowly, or until the watchdog ends it, for one that
// stopped) must not stall the others: when every worker has stayed on one
// stream while stallTicks streams were scheduled, schedule starts one
// more, up to maxWorkers. Counting schedules rather than reading the
// clock keeps the check cheap enough for every schedule. Extra workers leave once the queue is empty, and
// every worker leaves after idleExit with nothing to do, so that a Server
// with no streams runs no goroutine.
type pool struct {
	ready   chan *conn
	mu      sync.Mutex // guards starting workers
	running atomic.Int32
	ticks   atomic.Uint64 // schedules so far
	base    int32
	slots   [maxWorkers]slot
}

// slot is one worker's place: in use, the tick (p.ticks+1) at which it
// began writing one stream (0 while it waits), and since when (for the
// watchdog). Padded to a cache line.
type slot struct {
	used             atomic.Bool
	busyTick         atomic.Uint64
	busySince        atomic.Int64
	delivered, bytes atomic.Uint64 // what its workers wrote, for Stats
	_                [24]byte
}

const (
	maxWorkers = 64
	stallTicks = 32
	stallAfter = 2 * time.Millisecond
	idleExit   = time.Second
)

func newPool(capacity int) *pool {
	return &pool{ready: make(chan *conn, capacity), base: int32(max(runtime.GOMAXPROCS(0), 1))}
}

// schedule puts c on the ready queue, unless it is there already, and makes
// sure a worker will take it. It never blocks: should the queue be full,
// c's own goroutine writes it.
func (p *pool) schedule(c *conn) {
	if !c.scheduled.CompareAndSwap(false, true) {
		return
	}
	select {
	case p.ready <- c:
	default:
		c.scheduled.Store(false)
		c.own.Store(true)
		c.signal()
		return
	}
	tick := p.ticks.Add(1)
	if n := p.running.Load(); n < p.base || n < maxWorkers && p.stalled(n, tick) {
		p.start()
	}
}

// grow starts a worker if every running one has been writing one stream
// for longer than stallAfter: the watchdog's check, for streams with little
// traffic.
func (p *pool) grow() {
	n := p.running.Load()
	if n == 0 || n >= maxWorkers {
		return
	}
	now, seen := nanotime(), int32(0)
	for i := range p.slots {
		sl := &p.slots[i]
		if !sl.used.Load() {
			continue
		}
		if since := sl.busySince.Load(); since == 0 || now-since < int64(stallAfter) {
			return
		}
		if seen++; seen == n {
			break
		}
	}
	p.start()
}

// stalled reports whether every running worker has stayed on one stream
// while stallTicks streams were scheduled.
func (p *pool) stalled(running int32, tick uint64) bool {
	seen := int32(0)
	for i := range p.slots {
		sl := &p.slots[i]
		if !sl.used.Load() {
			continue
		}
		if busy := sl.busyTick.Load(); busy == 0 || tick-(busy-1) < stallTicks {
			return false
		}
		if seen++; seen == running {
			break
		}
	}
	return true
}

func (p *pool) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running.Load() >= maxWorkers {
		return
	}
	for i := range p.slots {
		if p.slots[i].used.CompareAndSwap(false, true) {
			extra := p.running.Add(1) > p.base
			go p.work(&p.slots[i], extra)
			return
		}
	}
}

func (p *pool) work(sl *slot, extra bool) {
	defer func() {
		p.running.Add(-1)
		sl.used.Store(false)
	}()
	idle := time.NewTimer(idleExit)
	defer idle.Stop()
	sc := &scratch{buf: make([]byte, 0, writeChunk), delivered: &sl.delivered, bytes: &sl.bytes}
	var prev *conn // the stream drained last, when the worker went on at once
	var prevAt int64
	var prevN int
	for {
		var c *conn
		select {
		case c = <-p.ready:
		default:
			prev = nil
			if extra {
				return
			}
			idle.Reset(idleExit)
			select {
			case c = <-p.ready:
			case <-idle.C:
				if len(p.ready) == 0 {
					return
				}
				continue
			}
		}
		// One clock reading per stream: it also tells how long the
		// previous stream took, and a slow one goes to its own goroutine.
		now := nanotime()
		if d := now - prevAt; prev != nil && d > int64(slowDrain) && d > int64(prevN)*int64(slowFrame) {
			prev.toOwn()
		}
		sl.busySince.Store(now)
		sl.busyTick.Store(p.ticks.Load() + 1)
		c.scheduled.Store(false)
		n := c.drainPooled(now, sc)
		sl.busyTick.Store(0)
		sl.busySince.Store(0)
		prev, prevAt, prevN = c, now, n
	}
}

// counts returns what the pool's workers wrote.
func (p *pool) counts() (delivered, bytes uint64) {
	for i := range p.slots {
		delivered += p.slots[i].delivered.Load()
		bytes += p.slots[i].bytes.Load()
	}
	return delivered, bytes
}

// clock is the start of the process's monotonic time, for nanotime.
var clock = time.Now()

// nanotime returns monotonic nanoseconds.
func nanotime() int64 { return int64(time.Since(clock)) }

// watchdog ends writes that take longer than the write timeout, and asks
// silent streams for heartbeats: a client
// that stops reading blocks its writer, and ending the write (a deadline
// in the past) is how the server takes the stream back. It replaces a
// deadline set before and cleared after every write, which on HTTP/2 is
// a message to the connection's goroutine each time. It runs while the
// Server has streams.
type watchdog struct {
	mu      sync.Mutex
	running bool
}

// watch starts the watchdog unless it runs.
func (s *Server) watch() {
	s.dog.mu.Lock()
	defer s.dog.mu.Unlock()
	if s.dog.running {
		return
	}
	s.dog.running = true
	go s.patrol()
}

// It also sends the heartbeats: at each tick it asks every stream that has
// been silent for about the heartbeat interval for one, which costs a scan
// of the streams every tick instead of a timer per stream.
func (s *Server) patrol() {
	every := s.patrolEvery()
	t := time.NewTicker(every)
	defer t.Stop()
	var late, beats []*conn
	for range t.C {
		now := nanotime()
		limit := now - int64(s.cfg.writeTimeout)
		s.mu.Lock()
		if len(s.streams) == 0 {
			s.dog.mu.Lock()
			s.dog.running = false
			s.dog.mu.Unlock()
			s.mu.Unlock()
			return
		}
		for c := range s.streams {
			if since := c.writeStart.Load(); since != 0 && since < limit {
				late = append(late, c)
			} else if c.beatDue(now, s.cfg.heartbeat, every) {
				beats = append(beats, c)
			}
			// Idle since the last tick: keep no array. (A stream still
			// subscribing is here too, and may not use its queue: trim
			// is safe on any queue, and reads nothing adopt writes.)
			if time.Duration(now-c.wrote.Load()) > every {
				c.queue.trim()
			}
		}
		s.mu.Unlock()
		for _, c := range late {
			c.timeOut()
		}
		for _, c := range beats {
			c.askBeat()
		}
		s.pool.grow()
		clear(late)
		clear(beats)
		late, beats = late[:0], beats[:0]
	}
}

// patrolEvery is the watchdog's tick: a quarter of the write timeout, an
// eighth of the heartbeat interval, at most a second.
func (s *Server) patrolEvery() time.Duration {
	return max(min(s.cfg.writeTimeout/4, s.cfg.heartbeat/8, time.Second), time.Millisecond)
}
