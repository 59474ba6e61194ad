package managed

import "syscall"

// sysProcAttr puts a server in its own process group, so that the Ctrl-C a
// terminal sends to runplan's group reaches runplan alone (which then stops
// the servers in order), and asks the kernel to kill it if runplan dies
// without stopping it. Pdeathsig fires when the thread that started the
// process exits; Go keeps its threads for the life of the process unless a
// goroutine locked to one exits, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
