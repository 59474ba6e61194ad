//go:build unix

package engine

import (
	"syscall"
	"time"
)

// cpuTime returns the process's user + system CPU time so far; ok is false
// when the system does not say.
func cpuTime() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
