//go:build runplan_crashtest

package main

import (
	"os"
	"runtime/debug"
)

// In the binary built by TestCrashNeverExits2 only: RUNPLAN_CRASH picks a
// crash before the command runs.
func init() {
	crashTestHook = func() {
		switch os.Getenv("RUNPLAN_CRASH") {
		case "main":
			panic("crash test: panic on the main goroutine")
		case "goroutine":
			go func() { panic("crash test: panic on another goroutine") }()
			select {} // the panic ends the process
		case "fatal":
			// A stack overflow is a fatal error of the runtime, like running
			// out of memory, and as certain.
			debug.SetMaxStack(64 << 10)
			recurse(0)
		}
	}
}

func recurse(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	return recurse(n+1) + int(pad[0])
}
