package pushtest

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time the process has used (all threads, GC
// included). On a shared machine a benchmark's work per CPU-second is
// steadier than its rate per wall second.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
