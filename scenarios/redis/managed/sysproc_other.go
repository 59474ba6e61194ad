//go:build !linux && !windows

package managed

import "syscall"

// sysProcAttr puts a server in its own process group, so that the Ctrl-C a
// terminal sends to runplan's group reaches runplan alone, which then stops
// the servers in order.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
