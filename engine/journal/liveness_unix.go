//go:build unix

package journal

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// pidLiveness probes pid with signal 0. start, when known, must match the
// process's start time, or the pid belongs to another process now.
func pidLiveness(pid int, start uint64) Liveness {
	err := syscall.Kill(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return Dead
	}
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return Unknown
	}
	state, now := procStat(pid)
	switch {
	case state == "Z" || state == "X":
		// Killed and not yet reaped: its signal 0 still succeeds.
		return Dead
	case start != 0 && now != 0 && now != start:
		return Dead
	}
	return Alive
}

// procStart returns the process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat), or 0 where /proc does not tell.
func procStart(pid int) uint64 {
	_, start := procStat(pid)
	return start
}

// procStat returns the process's state (field 3 of /proc/PID/stat: R, S,
// Z for a zombie, ...) and its start time; "" and 0 where /proc does not
// tell.
func procStat(pid int) (string, uint64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): field 22 is f[19].
	if len(f) < 20 {
		return "", 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return f[0], n
}
