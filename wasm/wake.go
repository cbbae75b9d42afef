//go:build js && wasm

package wasm

import (
	"sync"

	"github.com/hack-pad/safejs"
	"github.com/ssekit/ssekit/internal/client"
)

// wakeListeners hear the page go to sleep and come back: the window's
// offline and online events, the document's freeze and resume (a frozen
// page runs again), and visibilitychange to hidden and to visible. Each
// tells the transport, which reconnects at once when it is waiting out a
// backoff or its connection gave no sign of life while the page slept,
// rather than wait for the watchdog or the timer (see
// [client.Watchdog.Woken]).
type wakeListeners struct {
	mu    sync.Mutex
	added []wakeListener
}

type wakeListener struct {
	target safejs.Value
	typ    string
	fn     safejs.Func
}

// listenWake adds the listeners for t. Where there is no window or
// document (a worker), it listens to what there is.
func listenWake(t transport) (*wakeListeners, error) {
	w := &wakeListeners{}
	global := safejs.Global()
	doc := mustGet(global, "document")
	add := func(target safejs.Value, typ string, fn func()) error {
		if target.Type() != safejs.TypeObject {
			return nil
		}
		f, err := funcOf(func(safejs.Value, []safejs.Value) any {
			fn() // reads a property and signals the transport: never blocks
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := target.Call("addEventListener", typ, f); err != nil {
			release(f)
			return err
		}
		w.added = append(w.added, wakeListener{target, typ, f})
		return nil
	}
	err := add(global, "offline", func() { t.sleep(client.WakeOnline) })
	if err == nil {
		err = add(global, "online", func() { t.wake(client.WakeOnline) })
	}
	if err == nil {
		err = add(doc, "freeze", func() { t.sleep(client.WakeResume) })
	}
	if err == nil {
		err = add(doc, "resume", func() { t.wake(client.WakeResume) })
	}
	if err == nil {
		err = add(doc, "visibilitychange", func() {
			switch stringProp(doc, "visibilityState") {
			case "visible":
				t.wake(client.WakeVisible)
			case "hidden":
				t.sleep(client.WakeVisible)
			}
		})
	}
	if err != nil {
		w.release()
		return nil, err
	}
	return w, nil
}

// release removes the listeners and releases their functions. It may be
// called more than once.
func (w *wakeListeners) release() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.added {
		l.target.Call("removeEventListener", l.typ, l.fn)
		release(l.fn)
	}
	w.added = nil
}
