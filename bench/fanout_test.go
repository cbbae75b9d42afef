// Package bench holds go test benchmarks of the peer comparison, for
// profiling one library at a time (go test -bench -cpuprofile); the
// side-by-side report comes from cmd/ssekit-bench.
package bench_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/ssekit/ssekit/bench/internal/adapter"
	"github.com/ssekit/ssekit/bench/internal/cpu"
	"github.com/ssekit/ssekit/bench/internal/fanout"
)

// inflight is the sustained publisher's window, $INFLIGHT or 512.
var inflight = func() int {
	if n, err := strconv.Atoi(os.Getenv("INFLIGHT")); err == nil && n > 1 {
		return n
	}
	return 512
}()

// BenchmarkFanout publishes b.N events to N in-process subscribers of each
// library, keeping up to $INFLIGHT (default 512) in flight, and waits until all are delivered.
func BenchmarkFanout(b *testing.B) {
	for _, lib := range adapter.Peers() {
		for _, n := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/N=%d", lib.Name(), n), func(b *testing.B) {
				h, err := fanout.Start(lib, n, true)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				b.ReportAllocs()
				b.ResetTimer()
				c0 := cpu.Self()
				if err := h.Go(inflight, int64(b.N)).Wait(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "deliveries/s")
				b.ReportMetric(float64(cpu.Self()-c0)/float64(b.N*n), "cpu-ns/delivery")
			})
		}
	}
}

// BenchmarkFanoutSingle publishes one event at a time and waits until every
// subscriber has been written it.
func BenchmarkFanoutSingle(b *testing.B) {
	for _, lib := range adapter.Peers() {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/N=%d", lib.Name(), n), func(b *testing.B) {
				h, err := fanout.Start(lib, n, true)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				b.ReportAllocs()
				c0 := cpu.Self()
				for b.Loop() {
					if err := h.PublishOne(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "deliveries/s")
				b.ReportMetric(float64(cpu.Self()-c0)/float64(b.N*n), "cpu-ns/delivery")
			})
		}
	}
}
