//go:build js && wasm

package wasm

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/internal/client"
)

// sharedProtocol is the version of the messages the tabs of a shared
// source exchange (see client.Group). It is part of the names of the
// channel and the lock, so that tabs that run another version of ssekit
// (a stale bundle) form a group of their own.
const sharedProtocol = "1"

// shared is the transport of a source opened with WithShared: the glue
// between the browser and the group's logic, client.Group. Its
// BroadcastChannel carries the group's messages, its Web Lock elects the
// tab that reads the stream, and the source's own transport (native or
// fetch), made as Open would make it, reads the stream when this tab holds
// the lock (the holder's connection) or while it catches up on its own.
//
// One goroutine, run, owns the Group; JavaScript callbacks and the other
// goroutines hand it work (do) and return at once.
type shared struct {
	s *Source
	// connect starts a connection of the source's own transport from a
	// position, with the options of Open. (A func rather than the config:
	// a field of that type would link what its fields' types can do.)
	connect func(src *Source, from string) (transport, error)
	limits  client.Limits
	name    string // of the channel and the lock

	g      *client.Group
	bc     safejs.Value // the BroadcastChannel
	port   safejs.Value // the MessageChannel port that flushes are posted to
	portIn safejs.Value // the port that receives them
	funcs  []safejs.Func
	local  chan tapped // what the connections read, for run
	done   chan struct{}
	kick   chan struct{} // a token: work is queued

	// clock reads a monotonic clock: no time.Time in the types of the
	// package, whose methods (formatting, parsing) would all be linked.
	clock func() time.Duration
	lock  *lockRequest // the latest request; run's

	mu     sync.Mutex
	work   []func(now time.Duration)
	closed bool
	conns  [3]*sharedConn // by client.GroupRole
	gens   [3]int
}

// sharedConn is one of the connections of a shared source: a transport
// that posts to a dispatcher of its own, whose tap hands everything to run.
type sharedConn struct {
	src *Source // the connection's own: its dispatcher taps
	gen int
}

// tapped is a notice of a connection, with the connection it came from.
type tapped struct {
	role client.GroupRole
	gen  int
	n    client.Notice
}

// lockRequest is one call of navigator.locks.request.
type lockRequest struct {
	ctrl  safejs.Value  // the AbortController that withdraws it; undefined with steal
	funcs []safejs.Func // released once its promise settles

	// Under shared.mu: the grant comes in a JavaScript callback.
	granted   bool
	withdrawn bool         // given up: a grant is handed back at once
	resolve   safejs.Value // releases the lock once granted
}

// sharedSupported reports whether the browser has what a shared source
// needs: the Web Locks API, which exists only in secure contexts (HTTPS
// and localhost), BroadcastChannel and MessageChannel.
func sharedSupported() bool {
	locks := mustGet(mustGet(safejs.Global(), "navigator"), "locks")
	if locks.Type() != safejs.TypeObject || mustGet(locks, "request").Type() != safejs.TypeFunction {
		return false
	}
	for _, ctor := range []string{"BroadcastChannel", "MessageChannel", "AbortController", "Promise"} {
		if mustGet(safejs.Global(), ctor).Type() != safejs.TypeFunction {
			return false
		}
	}
	return true
}

// sharedTransport is startShared as [config.sharedStart], or, where the
// browser lacks what sharing needs, the source's own transport.
func sharedTransport(s *Source, url string, cfg *config, lastID string) (transport, error) {
	if !sharedSupported() {
		return ownTransport(s, url, cfg, lastID)
	}
	sh, err := startShared(s, url, cfg, lastID)
	if err != nil {
		return nil, err
	}
	return sh, nil
}

// startShared joins the group of sources named cfg.shared that read url,
// and starts run.
func startShared(s *Source, url string, cfg *config, lastID string) (*shared, error) {
	abs, err := absoluteURL(url)
	if err != nil {
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	if cfg.fetchStart != nil {
		if _, err := resolveURL(url); err != nil {
			return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
		}
	}
	sh := &shared{
		bc:     safejs.Undefined(),
		port:   safejs.Undefined(),
		portIn: safejs.Undefined(),
		s:      s,
		limits: cfg.limits,
		name:   "ssekit/" + sharedProtocol + "/" + strconv.Quote(cfg.shared) + "/" + abs,
		local:  make(chan tapped, 256),
		done:   make(chan struct{}),
		kick:   make(chan struct{}, 1),
	}
	if err := sh.open(); err != nil {
		sh.release()
		return nil, fmt.Errorf("wasm: Open(%q): %w", url, thrown(err))
	}
	tab := strconv.FormatUint(rand.Uint64(), 36)
	sh.g = client.NewGroup(client.GroupConfig{
		Tab:         tab,
		LastEventID: lastID,
		Cursor:      lastID != "",
		Types:       append(client.NativeEvents(), cfg.known...),
		Limits:      cfg.limits,
		Info:        connInfo,
		Error:       connError,
	}, (*sharedIO)(sh), s.d)
	start := time.Now()
	sh.clock = func() time.Duration { return time.Since(start) }
	own := *cfg
	sh.connect = func(src *Source, from string) (transport, error) {
		c := own
		return ownTransport(src, url, &c, from)
	}
	sh.g.Start(sh.clock())
	go sh.run()
	return sh, nil
}

// open opens the BroadcastChannel and the MessageChannel, with their
// listeners.
func (sh *shared) open() error {
	bc, err := mustGet(safejs.Global(), "BroadcastChannel").New(sh.name)
	if err != nil {
		return err
	}
	sh.bc = bc
	onMessage, err := sh.funcOf(func(_ safejs.Value, args []safejs.Value) any {
		data := mustGet(arg(args, 0), "data")
		n, err := data.Length()
		if err != nil || n <= 0 || n > maxGroupMessage {
			return nil
		}
		b := make([]byte, n)
		if _, err := safejs.CopyBytesToGo(b, data); err != nil {
			return nil // not a Uint8Array: not ours
		}
		sh.do(func(now time.Duration) { sh.g.Receive(b, now) })
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := bc.Call("addEventListener", "message", onMessage); err != nil {
		return err
	}
	mc, err := mustGet(safejs.Global(), "MessageChannel").New()
	if err != nil {
		return err
	}
	sh.port = mustGet(mc, "port1")
	onFlush, err := sh.funcOf(func(safejs.Value, []safejs.Value) any {
		sh.do(func(now time.Duration) { sh.g.Flush(now) })
		return nil
	})
	if err != nil {
		return err
	}
	in := mustGet(mc, "port2")
	if err := in.Set("onmessage", onFlush); err != nil {
		return err
	}
	sh.portIn = in
	return nil
}

// maxGroupMessage bounds a message the source accepts from the channel.
const maxGroupMessage = 64 << 20

func (sh *shared) funcOf(fn func(safejs.Value, []safejs.Value) any) (safejs.Func, error) {
	f, err := funcOf(fn)
	if err == nil {
		sh.funcs = append(sh.funcs, f)
	}
	return f, err
}

// do queues f for run. It never blocks.
func (sh *shared) do(f func(now time.Duration)) {
	sh.mu.Lock()
	if sh.closed {
		sh.mu.Unlock()
		return
	}
	sh.work = append(sh.work, f)
	sh.mu.Unlock()
	select {
	case sh.kick <- struct{}{}:
	default:
	}
}

// run drives the Group until the source is closed.
func (sh *shared) run() {
	// A timer with a function, not a channel: a chan time.Time would link
	// every method of time.Time into the bundle.
	var timer *time.Timer
	tick := func() { sh.do(func(now time.Duration) { sh.g.Tick(now) }) }
	for {
		select {
		case <-sh.kick:
			sh.mu.Lock()
			work := sh.work
			sh.work = nil
			sh.mu.Unlock()
			for _, f := range work {
				f(sh.clock())
			}
		case t := <-sh.local:
			sh.mu.Lock()
			current := sh.conns[t.role] != nil && sh.gens[t.role] == t.gen
			sh.mu.Unlock()
			if current {
				if t.role == client.RoleHolder {
					sh.g.Local(t.n, sh.clock())
				} else {
					sh.g.Own(t.n, sh.clock())
				}
			}
		case <-sh.done:
			if timer != nil {
				timer.Stop()
			}
			return
		}
		next, ok := sh.g.Next()
		switch {
		case ok && timer == nil:
			timer = time.AfterFunc(max(next-sh.clock(), 0), tick)
		case ok:
			timer.Reset(max(next-sh.clock(), 0))
		case timer != nil:
			timer.Stop()
		}
	}
}

func (sh *shared) listen(name string) {
	sh.do(func(now time.Duration) { sh.g.Listen(name, now) })
}

// sleep and wake tell the connections at once (they must know before the
// page freezes) and the Group.
func (sh *shared) sleep(k client.Wake) {
	for _, c := range sh.connections() {
		c.src.t.sleep(k)
	}
	sh.do(func(now time.Duration) { sh.g.Sleep(k, now) })
}

func (sh *shared) wake(k client.Wake) {
	for _, c := range sh.connections() {
		c.src.t.wake(k)
	}
	sh.do(func(now time.Duration) { sh.g.Wake(k, now) })
}

func (sh *shared) connections() []*sharedConn {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var cs []*sharedConn
	for _, c := range sh.conns {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// close leaves the group: run hands the connection over if this tab
// holds it, closes what is open and releases the JavaScript functions.
func (sh *shared) close() {
	sh.do(func(now time.Duration) {
		sh.g.Close(now)
		sh.mu.Lock()
		sh.closed = true
		sh.mu.Unlock()
		sh.release()
		close(sh.done)
	})
}

// release closes the channels and releases their functions.
func (sh *shared) release() {
	if !sh.bc.IsUndefined() && sh.bc.Type() == safejs.TypeObject {
		sh.bc.Call("close")
	}
	if sh.portIn.Type() == safejs.TypeObject {
		sh.portIn.Set("onmessage", safejs.Null())
		sh.portIn.Call("close")
	}
	if sh.port.Type() == safejs.TypeObject {
		sh.port.Call("close")
	}
	for _, f := range sh.funcs {
		release(f)
	}
	sh.funcs = nil
}

// sharedIO is the client.GroupIO of a shared source; run calls it.
type sharedIO shared

func (io *sharedIO) sh() *shared { return (*shared)(io) }

func (io *sharedIO) Post(msg []byte) {
	sh := io.sh()
	u8, err := newBytes(msg)
	if err == nil {
		_, err = sh.bc.Call("postMessage", u8)
	}
	if err != nil {
		sh.s.d.PostError(fmt.Errorf("wasm: posting to the tabs of the shared source: %w", thrown(err)))
	}
}

func (io *sharedIO) Connect(role client.GroupRole, from string, types []string) {
	sh := io.sh()
	sh.mu.Lock()
	sh.gens[role]++
	gen := sh.gens[role]
	sh.mu.Unlock()
	src := &Source{url: sh.s.url}
	src.d = client.NewDispatcher(client.Options{
		Limits:      sh.limits,
		LastEventID: from,
		Tap: func(n client.Notice) {
			select {
			case sh.local <- tapped{role, gen, n}:
			case <-sh.done:
			}
		},
	})
	var err error
	src.t, err = sh.connect(src, from)
	if err != nil {
		src.d.Close()
		// The group's stream cannot be read from this tab: say so as the
		// connection would.
		e := &ConnError{Closed: true, Reason: "opening the shared connection", Err: err}
		go func() {
			select {
			case sh.local <- tapped{role, gen, client.Notice{Kind: client.NoticeEnd, Err: e}}:
			case <-sh.done:
			}
		}()
		sh.mu.Lock()
		sh.conns[role] = &sharedConn{src: src, gen: gen}
		sh.mu.Unlock()
		return
	}
	for _, t := range types {
		src.t.listen(t)
	}
	sh.mu.Lock()
	sh.conns[role] = &sharedConn{src: src, gen: gen}
	sh.mu.Unlock()
	go src.d.Run()
}

func (io *sharedIO) Disconnect(role client.GroupRole) {
	sh := io.sh()
	sh.mu.Lock()
	c := sh.conns[role]
	sh.conns[role] = nil
	sh.gens[role]++
	sh.mu.Unlock()
	if c != nil {
		c.src.d.Close()
		if c.src.t != nil {
			c.src.t.close()
		}
	}
}

func (io *sharedIO) Listen(name string) {
	sh := io.sh()
	sh.mu.Lock()
	c := sh.conns[client.RoleHolder]
	sh.mu.Unlock()
	if c != nil && c.src.t != nil {
		c.src.t.listen(name)
	}
}

func (io *sharedIO) SetState(st client.ReadyState) { io.sh().s.setState(st) }

func (io *sharedIO) ScheduleFlush() {
	sh := io.sh()
	if _, err := sh.port.Call("postMessage", 0); err != nil {
		sh.do(func(now time.Duration) { sh.g.Flush(now) })
	}
}

func (io *sharedIO) WaitCaughtUp() {
	sh := io.sh()
	go func() {
		if sh.s.d.WaitCaughtUp(sh.done) {
			sh.do(func(now time.Duration) { sh.g.CaughtUp(now) })
		}
	}()
}

// RequestLock asks navigator.locks for the group's lock. The callback of
// a granted request returns a promise that ReleaseLock resolves: the lock
// is held until then. A stolen lock rejects the request's promise with an
// AbortError, which Lost reports.
func (io *sharedIO) RequestLock(steal bool) {
	sh := io.sh()
	sh.withdraw()
	r := &lockRequest{ctrl: safejs.Undefined(), resolve: safejs.Undefined()}
	sh.lock = r
	options := map[string]any{"mode": "exclusive"}
	if steal {
		options["steal"] = true // steal cannot be withdrawn: no signal
	} else if ctrl, err := mustGet(safejs.Global(), "AbortController").New(); err == nil {
		r.ctrl = ctrl
		options["signal"] = mustGet(ctrl, "signal")
	}
	settle := func() {
		for _, f := range r.funcs {
			release(f)
		}
		r.funcs = nil
	}
	granted, err := funcOf(func(_ safejs.Value, _ []safejs.Value) any {
		var resolve safejs.Value
		exec, err := funcOf(func(_ safejs.Value, args []safejs.Value) any {
			resolve = arg(args, 0)
			return nil
		})
		if err != nil {
			return nil
		}
		defer release(exec)
		promise, err := mustGet(safejs.Global(), "Promise").New(exec)
		sh.mu.Lock()
		give := r.withdrawn || sh.closed || err != nil
		if !give {
			r.granted, r.resolve = true, resolve
		}
		sh.mu.Unlock()
		if give {
			return nil // handed back at once
		}
		sh.do(func(now time.Duration) {
			if sh.lock == r {
				sh.g.Granted(now)
			}
		})
		return promise
	})
	if err != nil {
		return
	}
	r.funcs = append(r.funcs, granted)
	onValue, err1 := funcOf(func(safejs.Value, []safejs.Value) any {
		settle()
		return nil
	})
	onError, err2 := funcOf(func(_ safejs.Value, args []safejs.Value) any {
		reason := toError(arg(args, 0))
		settle()
		je, _ := reason.(*jsError)
		sh.mu.Lock()
		stolen := r.granted && !r.withdrawn && je != nil && je.name == "AbortError"
		sh.mu.Unlock()
		if stolen {
			sh.do(func(now time.Duration) {
				if sh.lock == r {
					sh.g.Lost(now)
				}
			})
		}
		return nil
	})
	for _, f := range []struct {
		f   safejs.Func
		err error
	}{{onValue, err1}, {onError, err2}} {
		if f.err == nil {
			r.funcs = append(r.funcs, f.f)
		}
	}
	if err1 != nil || err2 != nil {
		settle()
		return
	}
	p, err := mustGet(mustGet(safejs.Global(), "navigator"), "locks").Call("request", sh.name, options, granted)
	if err == nil {
		_, err = p.Call("then", onValue, onError)
	}
	if err != nil {
		settle()
		sh.s.d.PostError(fmt.Errorf("wasm: requesting the lock of the shared source: %w", thrown(err)))
	}
}

// withdraw gives up the latest request: a pending one is aborted, a
// granted one released.
func (sh *shared) withdraw() {
	r := sh.lock
	if r == nil {
		return
	}
	sh.mu.Lock()
	r.withdrawn = true
	granted, resolve := r.granted, r.resolve
	r.resolve = safejs.Undefined()
	sh.mu.Unlock()
	switch {
	case granted && !resolve.IsUndefined():
		resolve.Invoke()
	case !granted && !r.ctrl.IsUndefined():
		r.ctrl.Call("abort")
	}
	sh.lock = nil
}

func (io *sharedIO) ReleaseLock() { io.sh().withdraw() }

// connInfo is what a group relays of a connection error.
func connInfo(err error) (client.ConnInfo, bool) {
	// The transports post their *ConnError as it is. (No errors.As: it
	// would link reflection into the bundle.)
	e, ok := err.(*ConnError)
	if !ok {
		return client.ConnInfo{}, false
	}
	c := client.ConnInfo{Closed: e.Closed, Status: e.Status, Reason: e.Reason, Body: e.Body, Delay: e.Delay}
	switch {
	case e.Err == ErrSilent:
		c.Code = codeSilent
	case e.Err == ErrQueueFull:
		c.Code = codeQueueFull
	case e.Err != nil:
		c.Err = e.Err.Error()
	}
	return c, true
}

// The codes of the sentinel errors in a relayed ConnError.
const (
	codeSilent    = 1
	codeQueueFull = 2
)

// connError turns a relayed error back into a *ConnError.
func connError(c client.ConnInfo) error {
	e := &ConnError{Closed: c.Closed, Status: c.Status, Reason: c.Reason, Body: c.Body, Delay: c.Delay}
	switch {
	case c.Code == codeSilent:
		e.Err = ErrSilent
	case c.Code == codeQueueFull:
		e.Err = ErrQueueFull
	case c.Err != "":
		e.Err = errors.New(c.Err)
	}
	return e
}
