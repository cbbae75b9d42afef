package server_test

import (
	"context"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// TestNoGoroutineLeak opens and closes 1,000 streams and checks that every
// goroutine they started ends. It is not parallel: it counts the
// goroutines of the whole process, and parallel tests stay paused while a
// sequential test runs.
func TestNoGoroutineLeak(t *testing.T) {
	const batches, batch = 20, 50
	h := start(t, nil, nil, server.WithMaxConnections(0, 0))
	tr := &http.Transport{DisableKeepAlives: true} // each stream's connection ends with it
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	visit := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url("a", "b"), nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		ev, err := sse.NewDecoder(resp.Body).Next()
		if err == nil && ev.Type != schema.HelloEvent {
			return errorString("first event is " + ev.Type)
		}
		return err
	}
	// Start what starts once (the transport's, the server's) before counting.
	if err := visit(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Stats().Open = 0", func() bool { return h.srv.Stats().Open == 0 })
	baseline := runtime.NumGoroutine()

	for range batches {
		var wg sync.WaitGroup
		for range batch {
			wg.Go(func() {
				if err := visit(); err != nil {
					t.Errorf("visit() = %v", err)
				}
			})
		}
		wg.Wait()
	}
	if t.Failed() {
		t.FailNow()
	}

	const margin = 5
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond) // the count has no channel to wait on
	defer tick.Stop()
	for ; ; <-tick.C {
		st, n := h.srv.Stats(), runtime.NumGoroutine()
		if st.Open == 0 && n <= baseline+margin {
			t.Logf("goroutines: %d before %d streams, %d after", baseline, batches*batch, n)
			if st.Connections != batches*batch+1 {
				t.Errorf("Got(Stats().Connections) = %d; want %d", st.Connections, batches*batch+1)
			}
			return
		}
		if time.Now().After(deadline) {
			var stacks strings.Builder
			pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("after %d streams: %d goroutines, Stats().Open = %d; want at most %d (baseline %d + %d), 0\n%s",
				batches*batch, n, st.Open, baseline+margin, baseline, margin, stacks.String())
		}
	}
}
