package redis

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/managed"
)

// openDefault opens a target with no url, sentinel, cluster or managed, as
// a plan's `driver: redis` alone.
func openDefault(t *testing.T, extra string) (*Target, error) {
	t.Helper()
	spec := driver.TargetSpec{Name: "cache", Driver: "redis", Node: node(t, "driver: redis\n"+extra), RunID: runID(t)}
	if err := checkTarget(spec); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tg, err := openTargetSpec(ctx, spec, driver.Env{Seed: 1, Log: func(string) {}})
	if err != nil {
		return nil, err
	}
	rt := tg.(*Target)
	t.Cleanup(func() { _ = rt.Close() })
	return rt, nil
}

// TestDefaultTargetIsRedisServer: with a redis-server on PATH, a target
// without url, sentinel, cluster or managed is a real redis-server runplan
// starts (its INFO names the process runplan started), with the server
// figures miniredis lacks, no notice, and no process left after Close.
func TestDefaultTargetIsRedisServer(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("needs /proc to see the process end")
	}
	tg, err := openDefault(t, "")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if tg.Kind() != driver.KindManaged || !strings.HasPrefix(tg.Software(), "redis-server ") || len(tg.Notices()) != 0 {
		t.Fatalf("kind %q, software %q, notices %q; want a managed redis-server without notice", tg.Kind(), tg.Software(), tg.Notices())
	}
	d := tg.Deployment()
	if d == nil || len(d.Servers()) != 1 {
		t.Fatalf("deployment %v, want one server", d)
	}
	info, err := tg.Client().Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	pid := d.Servers()[0].Pid()
	if !strings.Contains(info, "process_id:"+strconv.Itoa(pid)+"\r\n") || !strings.Contains(info, "run_id:") {
		t.Fatalf("INFO server does not name process %d:\n%s", pid, info)
	}
	if want := "redis_version:" + strings.TrimPrefix(tg.Software(), "redis-server ") + "\r\n"; !strings.Contains(info, want) {
		t.Errorf("software %q does not match INFO:\n%s", tg.Software(), info)
	}
	stats, err := tg.ServerStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"used_memory", "maxmemory", "evicted_keys", "keyspace_hits"} {
		if _, ok := stats[k]; !ok {
			t.Errorf("server stats lack %s (a real server gives it)", k)
		}
	}
	if err := tg.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waits for the server to exit: the process is gone (or a
	// zombie reaped by then).
	checkExited(t, pid)
}

// TestDefaultTargetWithoutRedisServer: with no redis-server on PATH the
// default target is the in-process miniredis, marked with its notice;
// local_server: redis-server then fails to open and says why.
func TestDefaultTargetWithoutRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tg, err := openDefault(t, "")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if tg.Kind() != driver.KindEmbedded || tg.Software() != "miniredis" || !slices.Equal(tg.Notices(), []string{MiniredisNotice}) {
		t.Errorf("kind %q, software %q, notices %q; want the embedded miniredis with its notice", tg.Kind(), tg.Software(), tg.Notices())
	}
	if tg.mini == nil || tg.deploy != nil {
		t.Errorf("mini %v, deploy %v: want miniredis only", tg.mini, tg.deploy)
	}
	if _, err := openDefault(t, "local_server: redis-server\n"); !errors.Is(err, managed.ErrNotInstalled) {
		t.Errorf("local_server: redis-server without redis-server: %v, want ErrNotInstalled", err)
	}
}

// TestLocalServerMiniredis: local_server: miniredis starts the in-process
// server even when a redis-server is installed.
func TestLocalServerMiniredis(t *testing.T) {
	t.Parallel()
	tg, err := openDefault(t, "local_server: miniredis\n")
	if err != nil {
		t.Fatal(err)
	}
	if tg.Kind() != driver.KindEmbedded || tg.mini == nil || len(tg.Notices()) != 1 {
		t.Errorf("kind %q, notices %q: want miniredis", tg.Kind(), tg.Notices())
	}
}
