package browsertest

import (
	"fmt"
	"io"
	"net"
	"sync"
)

// ProxyState is what a [Fixture]'s TCP proxy does with connections.
type ProxyState string

const (
	// ProxyForward forwards connections to the fixture's server.
	ProxyForward ProxyState = "forward"
	// ProxyBlackhole stops forwarding without closing anything, as a
	// network path that died does: the connections open at that moment
	// deliver nothing, either way, ever again (a NAT that forgot them);
	// connections accepted meanwhile wait, and are forwarded once the
	// state is ProxyForward again (the path came back).
	ProxyBlackhole ProxyState = "blackhole"
	// ProxyRefuse resets every connection, open or new, as a host that is
	// down does.
	ProxyRefuse ProxyState = "refuse"
)

// proxy is a TCP proxy on 127.0.0.1 in front of one address, for tests of
// clients on a network that misbehaves.
type proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	state   ProxyState
	gen     int           // incremented by each blackhole: connections forwarding since an older one are dead
	changed chan struct{} // closed and replaced at each change of state
	conns   map[net.Conn]struct{}
	closed  bool
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, state: ProxyForward, changed: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	go p.accept()
	return p, nil
}

// origin returns the proxy's origin, http://127.0.0.1:port.
func (p *proxy) origin() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) set(st ProxyState) error {
	switch st {
	case ProxyForward, ProxyBlackhole, ProxyRefuse:
	default:
		return fmt.Errorf("unknown proxy state %q: want forward, blackhole or refuse", st)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st == ProxyBlackhole && p.state != ProxyBlackhole {
		p.gen++
	}
	p.state = st
	if st == ProxyRefuse {
		for c := range p.conns {
			reset(c)
		}
	}
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

func (p *proxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// reset closes c with a TCP reset, as a refusing host answers.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed || p.state == ProxyRefuse {
			p.mu.Unlock()
			reset(c)
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		go p.serve(c)
	}
}

// track adds or removes a connection; it returns false once the proxy is
// closed.
func (p *proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !add {
		delete(p.conns, c)
		return true
	}
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// serve forwards c once the state allows, until either side closes or a
// blackhole kills the connection.
func (p *proxy) serve(c net.Conn) {
	defer func() {
		p.track(c, false)
		c.Close()
	}()
	var gen int
	for { // wait for forward: a connection accepted in a blackhole waits
		p.mu.Lock()
		st, ch, closed := p.state, p.changed, p.closed
		gen = p.gen
		p.mu.Unlock()
		if closed || st == ProxyRefuse {
			return
		}
		if st == ProxyForward {
			break
		}
		<-ch
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(up, true) {
		up.Close()
		return
	}
	defer func() {
		p.track(up, false)
		up.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { p.pump(up, c, gen); done <- struct{}{} }()
	go func() { p.pump(c, up, gen); done <- struct{}{} }()
	<-done
	// One way ended: a close ends the other; a blackhole holds both.
	if p.alive(gen) {
		return
	}
	p.mu.Lock()
	for !p.closed {
		ch := p.changed
		p.mu.Unlock()
		<-ch
		p.mu.Lock()
	}
	p.mu.Unlock()
}

// alive reports whether a connection that started forwarding in
// generation gen may still forward.
func (p *proxy) alive(gen int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen == gen && p.state == ProxyForward && !p.closed
}

// pump copies from src to dst until either fails or the connection dies
// in a blackhole, after which it writes nothing more.
func (p *proxy) pump(dst, src net.Conn, gen int) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if !p.alive(gen) {
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
			}
			return
		}
	}
}
