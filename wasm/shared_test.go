//go:build js && wasm

package wasm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssekit/ssekit/wasm"
)

// The tests of WithShared that one page can run: two sources of one name
// in the page form a group as sources in two tabs do (a BroadcastChannel
// delivers to every other channel of its name, in the page too). The page
// of go_js_wasm_exec is on 127.0.0.1, a secure context, so it has Web
// Locks. browsertest's TestShared drives tabs.

func TestSharedOption(t *testing.T) {
	_, err := wasm.Open("_fixture/ssekit/events?topic=x", wasm.WithShared(""))
	if err == nil || !strings.Contains(err.Error(), `WithShared("")`) {
		t.Errorf(`Open(WithShared("")) = %v; want an error that names the option`, err)
	}
}

// TestSharedInPage: two sources of one name read one connection; each
// gets every event once; when the one that holds it closes, the other
// takes over with no gap and no duplicate; and closing both releases every
// JavaScript function, the lock's included.
func TestSharedInPage(t *testing.T) {
	for _, tr := range liveTransports {
		t.Run(tr.name, func(t *testing.T) {
			funcs := wasm.LiveFuncs()
			key := newKey(t)
			topic := key
			url := "_fixture/ssekit/heartbeat/events?topic=" + topic + "&key=" + key
			opts := append([]wasm.Option{wasm.WithShared("in-page")}, tr.opts...)
			srcs, tks := openTracked(t, url, []transport{{"a", opts}, {"b", opts}})
			opened(t, srcs...)
			startSequence(t, topic, 0, 10*time.Millisecond)
			streaming(t, wait, 20, tks...)
			if n := len(requests(t, key)); n != 1 {
				t.Fatalf("%d stream requests for two sources of one name; want 1", n)
			}
			srcs[0].Close()
			waitFor(t, wait, "the other source to take over", func() bool { return len(requests(t, key)) == 2 })
			last := tks[1].last()
			streaming(t, wait, last+20, tks[1])
			n := sequenceCall(t, "DELETE", topic).Published
			streaming(t, wait, n, tks[1])
			tks[1].exact(t, n)
			if srcs[1].ReadyState() != wasm.StateOpen {
				t.Errorf("the remaining source is %v; want open", srcs[1].ReadyState())
			}
			for _, e := range tks[1].errs {
				var ce *wasm.ConnError
				if errors.As(e.err, &ce) {
					t.Errorf("the takeover showed an error: %v", e.err)
				}
			}
			srcs[1].Close()
			waitFor(t, wait, "every JavaScript function released", func() bool { return wasm.LiveFuncs() == funcs })
		})
	}
}
