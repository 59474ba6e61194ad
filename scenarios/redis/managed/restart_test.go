package managed

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A killed server restarts on its port, with its password, and Close
// stops the new process; restarting a running server is an error.
func TestKillRestart(t *testing.T) {
	t.Parallel()
	d := startT(t, Config{Password: "pw", Replicas: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := d.ServerAt(d.Addr())
	if s == nil || s.Role() != RolePrimary {
		t.Fatalf("ServerAt(%s) = %v", d.Addr(), s)
	}
	if _, err := d.Restart(ctx, s); err == nil {
		t.Error("restarted a running server")
	}
	d.Kill(s)
	if !s.Exited() {
		t.Fatal("still running after Kill")
	}
	ns, err := d.Restart(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Addr() != s.Addr() || ns.Pid() == s.Pid() || d.ServerAt(s.Addr()) != ns {
		t.Errorf("restarted %s pid %d, was %s pid %d", ns.Addr(), ns.Pid(), s.Addr(), s.Pid())
	}
	c := ns.client()
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Errorf("PING after restart: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if !ns.Exited() {
		t.Error("Close left the restarted process running")
	}
}

// A server whose port another server took between the probe and its bind
// exits; the other one answers PING meanwhile, and must not be taken for
// it: the start fails as a port clash, which startProcess retries.
func TestStartOnTakenPort(t *testing.T) {
	t.Parallel()
	d := startT(t, Config{})
	s := d.Servers()[0]
	spec := s.spec
	spec.dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, retry, err := startOn(ctx, spec, s.Port())
	if err == nil {
		ns.Stop()
		t.Fatalf("started on %s, the port of pid %d, as pid %d", s.Addr(), s.Pid(), ns.Pid())
	}
	if !retry || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("startOn = %v (retry %v), want a port clash to retry", err, retry)
	}
}
