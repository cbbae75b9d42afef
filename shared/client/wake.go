package client

import "strconv"

// Wake is a sign from the browser that a connection may have died while
// nobody could tell: the page was offline, frozen or hidden.
type Wake int

const (
	// WakeOnline: the browser is back online (the window's online event).
	WakeOnline Wake = iota + 1
	// WakeResume: a frozen page runs again (the document's resume event).
	WakeResume
	// WakeVisible: a hidden page is visible again (visibilitychange).
	WakeVisible
)

// String returns "online", "resume" or "visible".
func (k Wake) String() string {
	switch k {
	case WakeOnline:
		return "online"
	case WakeResume:
		return "resume"
	case WakeVisible:
		return "visible"
	}
	return "Wake(" + strconv.Itoa(int(k)) + ")"
}

// Woken decides what a transport does on a wake-up. A transport that is
// waiting to reconnect tries at once, whatever the sign: the network it
// was waiting out may be back. An open connection is replaced at once when
// it is probably dead: with a known heartbeat interval, when it is
// [Watchdog.Suspect]; without one, nothing tells a live stream from a dead
// one, so it reconnects on online and resume, which are rare, and not on
// visible, which is not.
func Woken(k Wake, waiting bool, w *Watchdog) (reconnect bool) {
	switch {
	case waiting:
		return true
	case w.Interval() > 0:
		return w.Suspect()
	}
	return k == WakeOnline || k == WakeResume
}
