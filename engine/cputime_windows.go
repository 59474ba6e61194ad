//go:build windows

package engine

import (
	"syscall"
	"time"
)

// cpuTime returns the process's user + kernel CPU time so far; ok is false
// when the system does not say.
func cpuTime() (d time.Duration, ok bool) {
	h, err := syscall.GetCurrentProcess() // a pseudo handle: nothing to close
	if err != nil {
		return 0, false
	}
	var created, exited, kernel, user syscall.Filetime
	if err := syscall.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return 0, false
	}
	return filetimeSpan(kernel) + filetimeSpan(user), true
}

// filetimeSpan reads a FILETIME that holds a span, not a date, in 100 ns
// units (Filetime.Nanoseconds would subtract the Windows epoch).
func filetimeSpan(f syscall.Filetime) time.Duration {
	return time.Duration(int64(f.HighDateTime)<<32|int64(f.LowDateTime)) * 100
}
