//go:build unix

// The crash test reads deaths by signal and raises the core-file limit:
// Unix only (on Windows a crash neither dies by SIGABRT nor writes a core).

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runplan/runplan/cmd/runplan/cli"
)

// TestCrashNeverExits2 builds runplan with a crash hook (the
// runplan_crashtest tag) and crashes it three ways: exit status 2 means an
// invalid plan, so no crash may end with it, and none may leave a core file
// behind.
func TestCrashNeverExits2(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build runplan: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "runplan")
	build := exec.Command(goTool, "build", "-tags", "runplan_crashtest", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A core file would be written where the limit allows; raise this
	// process's soft limit (inherited by the child) so that the test sees
	// runplan lower it.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &lim)
	}
	tests := []struct {
		crash    string
		wantCode int            // for an exit
		wantSig  syscall.Signal // for a death by signal
		wantErr  string
	}{
		{crash: "main", wantCode: cli.ExitInternal, wantErr: "runplan: internal error: crash test: panic on the main goroutine (please report it"},
		{crash: "goroutine", wantSig: syscall.SIGABRT, wantErr: "panic: crash test: panic on another goroutine"},
		{crash: "fatal", wantSig: syscall.SIGABRT, wantErr: "fatal error: stack overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.crash, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := exec.Command(bin, "version")
			cmd.Dir = dir
			cmd.Env = append(withoutEnv(os.Environ(), "GOTRACEBACK"), "RUNPLAN_CRASH="+tt.crash)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("runplan did not fail: %v\n%s", err, stderr.String())
			}
			ws := ee.Sys().(syscall.WaitStatus)
			switch {
			case ws.Exited() && ws.ExitStatus() == cli.ExitUsage:
				t.Fatalf("a crash exited %d, the code of an invalid plan\n%s", cli.ExitUsage, stderr.String())
			case tt.wantSig != 0 && !(ws.Signaled() && ws.Signal() == tt.wantSig):
				t.Errorf("status %v, want death by %v", ws, tt.wantSig)
			case tt.wantSig == 0 && !(ws.Exited() && ws.ExitStatus() == tt.wantCode):
				t.Errorf("status %v, want exit %d", ws, tt.wantCode)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr.String())
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("the crash left %s in its working directory", e.Name())
			}
		})
	}
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
