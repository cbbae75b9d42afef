//go:build js && wasm

// Command wasmclient is the browser side of the harness's scenario 8: a
// page that receives ssekit's typed events with package wasm, through the
// browser's EventSource or through fetch(), and reports to the harness in
// JavaScript globals. Its query parameters: url (the stream), transport
// (eventsource or fetch), mode (throughput or latency) and n (events to
// wait for in throughput mode), codec (json, the default codec, or fast).
// The page sets window.benchLoaded once it is ready, and connects when the
// harness calls window.benchGo().
//
// throughput: window.benchResult = {n, first, last}, the performance.now()
// of the first and the n-th event's handler call.
// latency: pushes, for each event, the page's clock minus the event's send
// time (ms) onto window.benchLat.
package main

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"syscall/js"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/wasm"
)

// Tick is the harness's payload.
type Tick struct {
	Seq uint64 `json:"seq"`
	T   int64  `json:"t"` // send time, Unix ns
	Pad string `json:"pad"`
}

// tick decodes with the default codec (encoding/json), tickFast with
// schema.FlatJSON: the same events, the same wire format.
var (
	tick     = schema.Define[Tick]("tick")
	tickFast = schema.Define[Tick]("tick", schema.WithCodec(schema.FlatJSON[Tick]()))
)

func main() {
	global := js.Global()
	q, _ := url.ParseQuery(strings.TrimPrefix(global.Get("location").Get("search").String(), "?"))
	perf := global.Get("performance")
	origin := perf.Get("timeOrigin").Float()
	report := func(msg string) { global.Set("benchError", msg) }

	start := make(chan struct{})
	var once bool
	global.Set("benchGo", js.FuncOf(func(js.Value, []js.Value) any {
		if !once {
			once = true
			close(start)
		}
		return nil
	}))
	global.Set("benchLoaded", true)
	<-start

	if q.Get("transport") == "raw" {
		raw(q, perf, origin)
		select {}
	}
	var opts []wasm.Option
	if q.Get("transport") == "fetch" {
		opts = append(opts, wasm.WithFetch(wasm.Request{}))
	}
	src, err := wasm.Open(q.Get("url"), opts...)
	if err != nil {
		report(err.Error())
		return
	}
	ev := tick
	if q.Get("codec") == "fast" {
		ev = tickFast
	}
	src.OnOpen(func() { global.Set("benchReady", true) })
	src.OnError(func(err error) { global.Set("benchLastError", err.Error()) })
	switch q.Get("mode") {
	case "throughput":
		n, _ := strconv.Atoi(q.Get("n"))
		count := 0
		var first float64
		var sum uint64
		wasm.On(src, ev, func(v Tick, _ wasm.Meta) {
			count++
			sum += v.Seq
			if count == 1 {
				first = perf.Call("now").Float()
			}
			if count == n {
				last := perf.Call("now").Float()
				src.Close()
				global.Set("benchResult", map[string]any{"n": n, "first": first, "last": last, "sum": float64(sum)})
			}
		})
	default:
		lat := global.Get("benchLat")
		wasm.On(src, ev, func(v Tick, _ wasm.Meta) {
			lat.Call("push", origin+perf.Call("now").Float()-float64(v.T)/1e6)
		})
	}
	select {}
}

// raw receives the events with a js.FuncOf listener on an EventSource and
// decodes them with encoding/json: no package wasm.
func raw(q url.Values, perf js.Value, origin float64) {
	global := js.Global()
	es := global.Get("EventSource").New(q.Get("url"))
	es.Set("onopen", js.FuncOf(func(js.Value, []js.Value) any {
		global.Set("benchReady", true)
		return nil
	}))
	n, _ := strconv.Atoi(q.Get("n"))
	throughput := q.Get("mode") == "throughput"
	lat := global.Get("benchLat")
	count := 0
	var first float64
	var sum uint64
	es.Call("addEventListener", "tick", js.FuncOf(func(_ js.Value, args []js.Value) any {
		var v Tick
		if err := json.Unmarshal([]byte(args[0].Get("data").String()), &v); err != nil {
			global.Set("benchError", err.Error())
			return nil
		}
		if !throughput {
			lat.Call("push", origin+perf.Call("now").Float()-float64(v.T)/1e6)
			return nil
		}
		count++
		sum += v.Seq
		if count == 1 {
			first = perf.Call("now").Float()
		}
		if count == n {
			last := perf.Call("now").Float()
			es.Call("close")
			global.Set("benchResult", map[string]any{"n": n, "first": first, "last": last, "sum": float64(sum)})
		}
		return nil
	}))
}
