//go:build unix

package redis

import (
	"errors"
	"syscall"
	"testing"
)

// checkExited fails the test when process pid still runs: signal 0 must
// find no process (a zombie would have been reaped by managed's Wait).
func checkExited(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("redis-server %d still running after Close (kill 0: %v)", pid, err)
	}
}
