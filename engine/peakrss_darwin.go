//go:build darwin

package engine

import "syscall"

// peakRSS is the process's peak resident set size in bytes (getrusage's
// ru_maxrss, which macOS gives in bytes, not kilobytes as Linux does); 0,
// unknown, when the system does not say.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss
}
