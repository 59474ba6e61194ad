//go:build unix

package main

import "syscall"

// disableCoreFiles sets the core file size limit to zero.
func disableCoreFiles() {
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0})
}
