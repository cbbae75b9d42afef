package client

import (
	"strconv"
	"time"
)

// Wake is a sign from the browser that a connection may have died while
// nobody could tell: the page was offline, frozen or hidden. The sign that
// the page went to sleep comes first (the window's offline event, the
// document's freeze, visibilitychange to hidden): see [Watchdog.Asleep].
type Wake int

const (
	// WakeOnline: the browser is back online (the window's online event).
	WakeOnline Wake = iota + 1
	// WakeResume: a frozen page runs again (the document's resume event).
	WakeResume
	// WakeVisible: a hidden page is visible again (visibilitychange).
	WakeVisible

	wakeKinds = iota + 1
)

// hiddenLimit is how long a page must have been hidden, with nothing
// heard meanwhile, for its connection to be presumed dead when the server
// announced no heartbeat interval.
const hiddenLimit = time.Minute

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

// Asleep records that the page went offline, was frozen or was hidden:
// the sign that the wake-up k will end. From now on the connection may die
// without a word.
func (w *Watchdog) Asleep(k Wake) {
	if k <= 0 || k >= wakeKinds {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asleep[k], w.slept[k] = w.now(), true
}

// Woken decides what a transport does on the wake-up k: whether it
// reconnects now. A transport that is waiting to reconnect tries at once,
// whatever the sign: the network it was waiting out may be back. An open
// connection that has shown no sign of life since the page went to sleep
// ([Watchdog.Asleep]) is presumed dead, and replaced at once, rather than
// after the watchdog's three intervals or a backoff:
//
//   - online: the network went away and came back; a connection that
//     survived it has delivered something since;
//   - resume: a frozen page heard nothing; Chromium does not resume a
//     fetch body read across a freeze, and an EventSource loses nothing by
//     being replaced from its last event ID;
//   - visible: a hidden page still reads its streams, so only a page
//     hidden for longer than a heartbeat interval (a minute when the server
//     announced none) with nothing heard meanwhile.
//
// Without the sign that the page went to sleep, it falls back on the
// silence: with a known interval, the connection is replaced when it is
// [Watchdog.Suspect]; without one, on online and resume.
func (w *Watchdog) Woken(k Wake, waiting bool) (reconnect bool) {
	if waiting {
		return true
	}
	if k <= 0 || k >= wakeKinds {
		return false
	}
	w.mu.Lock()
	since, slept, iv := w.asleep[k], w.slept[k], w.interval
	w.mu.Unlock()
	if !slept {
		if iv > 0 {
			return w.Suspect()
		}
		return k != WakeVisible
	}
	if time.Duration(w.heard.Load()) > since {
		return false // it spoke after the page went to sleep
	}
	if k == WakeVisible {
		limit := iv
		if limit == 0 {
			limit = hiddenLimit
		}
		return w.now()-since >= limit
	}
	return true
}
