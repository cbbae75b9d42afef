package client_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/internal/client"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

type price struct {
	Symbol string `json:"symbol"`
	Cents  int64  `json:"cents"`
}

var (
	priceTick = schema.Define[price]("price.tick")
	note      = schema.Define[string]("note")
	registry  = schema.MustRegistry(priceTick, note)
)

// wait bounds every wait of these tests.
const wait = 5 * time.Second

// recorder collects what handlers saw, in order.
type recorder struct{ c chan string }

func newRecorder() *recorder { return &recorder{c: make(chan string, 1000)} }

func (r *recorder) add(format string, args ...any) { r.c <- fmt.Sprintf(format, args...) }

// expect receives the next len(want) records and compares them with want.
func (r *recorder) expect(t testing.TB, want ...string) {
	t.Helper()
	for i, w := range want {
		select {
		case got := <-r.c:
			if got != w {
				t.Fatalf("record %d = %q; want %q", i, got, w)
			}
		case <-time.After(wait):
			t.Fatalf("record %d: nothing after %v; want %q", i, wait, w)
		}
	}
}

// none fails if anything is left.
func (r *recorder) none(t testing.TB) {
	t.Helper()
	select {
	case got := <-r.c:
		t.Fatalf("unexpected record %q", got)
	default:
	}
}

// start returns a running dispatcher and a channel closed when its Run
// returns. Cleanup closes it and waits for Run.
func start(t testing.TB, fingerprint string) (*client.Dispatcher, <-chan struct{}) {
	t.Helper()
	return startWith(t, client.Options{Fingerprint: fingerprint})
}

// startWith is start with more options.
func startWith(t testing.TB, o client.Options) (*client.Dispatcher, <-chan struct{}) {
	t.Helper()
	d := client.NewDispatcher(o)
	done := make(chan struct{})
	go func() {
		d.Run()
		close(done)
	}()
	t.Cleanup(func() {
		d.Close()
		waitClosed(t, done)
	})
	return d, done
}

func waitClosed(t testing.TB, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("Run did not return within %v of Close", wait)
	}
}

func event(typ, data, id string) sse.Event { return sse.Event{Type: typ, Data: data, ID: id} }

func TestDispatcherOrder(t *testing.T) {
	t.Parallel()
	d, _ := start(t, "")
	rec := newRecorder()
	d.OnOpen(func() { rec.add("open") })
	d.OnError(func(err error) { rec.add("error %v", err) })
	d.OnMessage(func(ev sse.Event) { rec.add("message %s %q id=%s", ev.Type, ev.Data, ev.ID) })
	client.On(d, priceTick, func(p price, m client.Meta) {
		rec.add("price %s %d id=%s type=%s origin=%s", p.Symbol, p.Cents, m.ID, m.Type, m.Origin)
	})
	client.On(d, note, func(s string, m client.Meta) { rec.add("note %s", s) })

	const origin = "https://example.com"
	d.PostOpen()
	d.PostEvent(event("message", "hi", ""), origin)
	d.PostEvent(event("price.tick", `{"symbol":"ACME","cents":1}`, "e-1"), origin)
	d.PostEvent(event("unheard", "dropped", "e-2"), origin)
	d.PostError(errors.New("lost"))
	d.PostEvent(event("note", `"x"`, "e-3"), origin)
	d.PostEvent(event("price.tick", `{"symbol":"ACME","cents":2}`, "e-4"), origin)
	d.PostOpen()
	rec.expect(t,
		"open",
		`message message "hi" id=`,
		"price ACME 1 id=e-1 type=price.tick origin=https://example.com",
		"error lost",
		"note x",
		"price ACME 2 id=e-4 type=price.tick origin=https://example.com",
		"open",
	)
}

func TestDispatcherDecodeErrorKeepsGoing(t *testing.T) {
	t.Parallel()
	d, _ := start(t, "")
	rec := newRecorder()
	d.OnError(func(err error) {
		var de *schema.DecodeError
		if !errors.As(err, &de) {
			rec.add("not a DecodeError: %T %v", err, err)
			return
		}
		rec.add("decode error event=%s data=%q", de.Event, de.Data)
	})
	client.On(d, priceTick, func(p price, m client.Meta) { rec.add("price %s %d", p.Symbol, p.Cents) })
	d.PostEvent(event("price.tick", `{"symbol":`, "1"), "")
	d.PostEvent(event("price.tick", `{"symbol":"ACME","cents":"not a number"}`, "2"), "")
	d.PostEvent(event("price.tick", `{"symbol":"ACME","cents":3}`, "3"), "")
	rec.expect(t,
		`decode error event=price.tick data="{\"symbol\":"`,
		`decode error event=price.tick data="{\"symbol\":\"ACME\",\"cents\":\"not a number\"}"`,
		"price ACME 3",
	)
}

func TestDispatcherHandlersDecodeTheirOwnValue(t *testing.T) {
	t.Parallel()
	d, _ := start(t, "")
	rec := newRecorder()
	list := schema.Define[[]int]("list")
	client.On(d, list, func(v []int, _ client.Meta) { v[0] = 99; rec.add("first %v", v) })
	client.On(d, list, func(v []int, _ client.Meta) { rec.add("second %v", v) })
	d.PostEvent(event("list", "[1,2]", ""), "")
	rec.expect(t, "first [99 2]", "second [1 2]")
}

func TestDispatcherHello(t *testing.T) {
	t.Parallel()
	local := registry.Fingerprint()
	tests := []struct {
		name string
		fp   string // the client's fingerprint
		data string
		want []string
	}{
		{"same fingerprint", local, `{"fingerprint":"` + local + `"}`, nil},
		{"other fingerprint", local, `{"fingerprint":"v1:stale","events":["a"]}`, []string{"mismatch server=v1:stale client=" + local}},
		{"server without registry", local, `{}`, nil},
		{"empty server fingerprint", local, `{"fingerprint":""}`, nil},
		{"client without registry", "", `{"fingerprint":"v1:any"}`, nil},
		{"malformed hello", local, `{"fingerprint":`, []string{"error ssekit.hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, _ := start(t, tt.fp)
			rec := newRecorder()
			d.OnSchemaMismatch(func(server, client string) { rec.add("mismatch server=%s client=%s", server, client) })
			d.OnError(func(err error) {
				var de *schema.DecodeError
				if errors.As(err, &de) {
					rec.add("error %s", de.Event)
				}
			})
			d.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
			d.PostEvent(event(schema.HelloEvent, tt.data, ""), "")
			d.PostEvent(event("message", "after", ""), "") // the hello is consumed, delivery goes on
			rec.expect(t, append(tt.want, "message after")...)
			rec.none(t)
		})
	}
}

func TestDispatcherReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"known reason", `{"reason":"expired"}`, []string{"reset expired"}},
		{"unknown reason", `{"reason":"moon phase"}`, []string{"reset moon phase"}},
		{"malformed reset is a reset all the same", `nope`, []string{"error ssekit.reset", "reset "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, _ := start(t, "")
			rec := newRecorder()
			d.OnReset(func(reason string) { rec.add("reset %s", reason) })
			d.OnError(func(err error) {
				var de *schema.DecodeError
				if errors.As(err, &de) {
					rec.add("error %s", de.Event)
				}
			})
			d.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
			d.PostEvent(event(schema.ResetEvent, tt.data, "e-9"), "")
			d.PostEvent(event("message", "live", "e-10"), "")
			rec.expect(t, append(tt.want, "message live")...)
			rec.none(t)
		})
	}
}

func TestDispatcherCloseInHandler(t *testing.T) {
	t.Parallel()
	d, done := start(t, "")
	rec := newRecorder()
	client.On(d, note, func(s string, _ client.Meta) {
		rec.add("first %s", s)
		if s == "close" {
			d.Close()
			d.Close() // twice is fine
		}
	})
	client.On(d, note, func(s string, _ client.Meta) { rec.add("second %s", s) })
	d.OnOpen(func() { rec.add("open") })
	d.PostEvent(event("note", `"a"`, ""), "")
	d.PostEvent(event("note", `"close"`, ""), "")
	d.PostEvent(event("note", `"b"`, ""), "")
	d.PostOpen()
	rec.expect(t, "first a", "second a", "first close")
	waitClosed(t, done)
	d.PostOpen() // after Close: dropped, no panic
	d.PostEvent(event("note", `"c"`, ""), "")
	rec.none(t)
	select {
	case <-d.Done():
	default:
		t.Error("Done() is not closed after Close")
	}
}

func TestDispatcherCloseFromOutside(t *testing.T) {
	t.Parallel()
	d, done := start(t, "")
	rec := newRecorder()
	block := make(chan struct{})
	client.On(d, note, func(s string, _ client.Meta) {
		rec.add("note %s", s)
		if s == "block" {
			<-block
		}
	})
	d.PostEvent(event("note", `"block"`, ""), "")
	rec.expect(t, "note block")
	d.PostEvent(event("note", `"queued"`, ""), "") // queued behind the blocked handler
	d.Close()
	close(block)
	waitClosed(t, done)
	rec.none(t) // the queued event was dropped
}

func TestDispatcherOff(t *testing.T) {
	t.Parallel()
	d, _ := start(t, "")
	rec := newRecorder()
	var offSecond func()
	offFirst := client.On(d, note, func(s string, _ client.Meta) {
		rec.add("first %s", s)
		if s == "off" {
			offSecond() // the second handler does not get this very event
		}
	})
	offSecond = client.On(d, note, func(s string, _ client.Meta) { rec.add("second %s", s) })
	offOpen := d.OnOpen(func() { rec.add("open") })
	d.PostEvent(event("note", `"a"`, ""), "")
	d.PostEvent(event("note", `"off"`, ""), "")
	d.PostEvent(event("note", `"b"`, ""), "")
	rec.expect(t, "first a", "second a", "first off", "first b")
	offFirst()
	offFirst() // twice is fine
	offOpen()
	d.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
	d.PostEvent(event("note", `"c"`, ""), "")
	d.PostOpen()
	d.PostEvent(event("message", "end", ""), "")
	rec.expect(t, "message end")
	rec.none(t)
}

func TestDispatcherPostNeverBlocks(t *testing.T) {
	t.Parallel()
	const n = 10000
	d, _ := startWith(t, client.Options{Limits: client.Limits{Events: n, Bytes: 1 << 20}})
	block := make(chan struct{})
	var mu sync.Mutex
	var got []string
	all := make(chan struct{})
	client.On(d, note, func(s string, _ client.Meta) {
		<-block
		mu.Lock()
		got = append(got, s)
		if len(got) == n {
			close(all)
		}
		mu.Unlock()
	})
	refused := 0
	for i := range n { // the handler is blocked: Post must queue, not wait
		if !d.PostEvent(event("note", fmt.Sprintf(`"%d"`, i), ""), "") {
			refused++
		}
	}
	close(block)
	if refused > 0 {
		t.Fatalf("PostEvent refused %d of %d events; want none (within the limits)", refused, n)
	}
	select {
	case <-all:
	case <-time.After(wait):
		t.Fatalf("not all %d events delivered within %v", n, wait)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, s := range got {
		if s != fmt.Sprint(i) {
			t.Fatalf("event %d = %s; want %d (in posting order)", i, s, i)
		}
	}
}

func TestDispatcherConcurrent(t *testing.T) {
	t.Parallel()
	d, _ := start(t, registry.Fingerprint())
	var (
		mu    sync.Mutex
		count int
	)
	done := make(chan struct{})
	const posters, each = 8, 200
	client.On(d, note, func(string, client.Meta) {
		mu.Lock()
		count++
		if count == posters*each {
			close(done)
		}
		mu.Unlock()
	})
	var wg sync.WaitGroup
	for range posters {
		wg.Go(func() {
			for range each {
				d.PostEvent(event("note", `"x"`, ""), "")
				off := d.OnMessage(func(sse.Event) {}) // registering while delivering
				off()
			}
		})
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(wait):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("delivered %d of %d events within %v", count, posters*each, wait)
	}
}

func TestDispatcherPanicsOnMisuse(t *testing.T) {
	t.Parallel()
	d := client.NewDispatcher(client.Options{})
	tests := []struct {
		name string
		f    func()
	}{
		{"On nil", func() { client.On[price](d, priceTick, nil) }},
		{"On zero Event", func() { client.On(d, schema.Event[int]{}, func(int, client.Meta) {}) }},
		{"OnMessage nil", func() { d.OnMessage(nil) }},
		{"OnOpen nil", func() { d.OnOpen(nil) }},
		{"OnError nil", func() { d.OnError(nil) }},
		{"OnReset nil", func() { d.OnReset(nil) }},
		{"OnSchemaMismatch nil", func() { d.OnSchemaMismatch(nil) }},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || len(s) < 8 || s[:8] != "client: " {
					t.Errorf("%s: panic %v; want a message starting with \"client: \"", tt.name, r)
				}
			}()
			tt.f()
		}()
	}
}
