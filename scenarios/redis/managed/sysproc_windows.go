package managed

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
