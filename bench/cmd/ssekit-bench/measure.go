package main

import (
	"runtime"
	"time"

	"github.com/ssekit/ssekit/bench/internal/cpu"
)

// opCost is what one operation of a micro-benchmark costs.
type opCost struct {
	wall   time.Duration // wall time per operation
	cpu    time.Duration // process CPU time per operation
	allocs float64       // heap allocations per operation
	bytes  float64       // bytes allocated per operation
	ops    int
}

// measure runs op in batches for about d (after a calibration) and returns
// its cost per call. Process CPU time includes the garbage collector's
// work, which allocation-heavy code causes.
func measure(op func(), d time.Duration) opCost {
	// Calibrate: a batch should take at least a millisecond.
	batch := 1
	for {
		t := time.Now()
		for range batch {
			op()
		}
		if time.Since(t) >= time.Millisecond || batch >= 1<<24 {
			break
		}
		batch *= 2
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, t0 := cpu.Self(), time.Now()
	ops := 0
	for time.Since(t0) < d {
		for range batch {
			op()
		}
		ops += batch
	}
	wall, used := time.Since(t0), cpu.Self()-c0
	runtime.ReadMemStats(&m1)
	return opCost{
		wall:   wall / time.Duration(ops),
		cpu:    used / time.Duration(ops),
		allocs: float64(m1.Mallocs-m0.Mallocs) / float64(ops),
		bytes:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(ops),
		ops:    ops,
	}
}
