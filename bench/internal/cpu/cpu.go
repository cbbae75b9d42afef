// Package cpu reads the CPU time a process has used, which, unlike wall
// time, is what a measurement costs whatever else the machine runs.
package cpu

import (
	"syscall"
	"time"
)

// Self returns the user plus system CPU time of this process so far.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
