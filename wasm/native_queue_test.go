//go:build js && wasm

package wasm_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/shared/sse"
	"github.com/ssekit/ssekit/wasm"
)

// TestBatchedEvents sends a burst in one response, which the native
// transport drains from JavaScript in batches and the fetch transport
// decodes a chunk at a time: every event arrives once, in order, with its
// type, ID and data intact (line breaks, non-ASCII, empty data, IDs that
// change and stay), and the end of the stream comes after them.
func TestBatchedEvents(t *testing.T) {
	const n = 3000
	var body strings.Builder
	var want []string
	for i := range n {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&body, "event: price.tick\nid: %d\ndata: {\"symbol\":\"ACMÉ\",\"cents\":%d}\n\n", i, i)
			want = append(want, fmt.Sprintf("price ACMÉ %d id=%d", i, i))
		case 1:
			fmt.Fprintf(&body, "id: %d\ndata: line one\ndata: line two %d\n\n", i, i)
			want = append(want, fmt.Sprintf("message \"line one\\nline two %d\" id=%d", i, i))
		case 2: // no id field: the last one stays
			fmt.Fprintf(&body, "data: €\n\n")
			want = append(want, fmt.Sprintf("message \"€\" id=%d", i-1))
		case 3:
			fmt.Fprintf(&body, "id: %d\ndata:\n\n", i)
			want = append(want, fmt.Sprintf("message \"\" id=%d", i))
		case 4:
			fmt.Fprintf(&body, "event: price.tick\nid: x\u00a0%d\ndata: {\"symbol\":\"\\\"q\\\"\",\"cents\":-%d}\n\n", i, i)
			want = append(want, fmt.Sprintf("price \"q\" -%d id=x\u00a0%d", i, i))
		}
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			key := newKey(t)
			url := script(t, key, response{Body: body.String()}, response{Status: 204})
			src := open(t, url, tr.opts...)
			rec := newRecorder()
			src.OnError(func(err error) { rec.add("%s", errKind(err)) })
			wasm.On(src, priceTick, func(p price, m wasm.Meta) { rec.add("price %s %d id=%s", p.Symbol, p.Cents, m.ID) })
			src.OnMessage(func(ev sse.Event) { rec.add("message %q id=%s", ev.Data, ev.ID) })
			rec.expect(t, want...)
			if got := rec.next(t); !strings.HasPrefix(got, "error reconnecting") && !strings.HasPrefix(got, "error closed") {
				t.Errorf("after the events: %q; want the connection's end", got)
			}
		})
	}
}
