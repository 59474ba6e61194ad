package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine/journal"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// child runs the command line in a child process (this test binary, see
// TestMain) with its journal under state, and returns it started.
func child(t *testing.T, state string, args ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RUNPLAN_TEST_ARGS="+string(a), "XDG_STATE_HOME="+state)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, &stderr
}

// runChild runs the command line in a child process to its end and returns
// its exit code and output.
func runChild(t *testing.T, state string, args ...string) (int, string, string) {
	t.Helper()
	cmd, stdout, stderr := child(t, state, args...)
	err := cmd.Wait()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// journalFiles lists the run journals under state.
func journalFiles(t *testing.T, state string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(state, "runplan", "journal", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// SIGKILL during a memory_squeeze on a server runplan did not start (issue
// 10): the settings stay changed and the keys stay — but the journal holds
// them. The next run against the server warns, names the dead run and the
// command that restores it; runplan cleanup --dry-run changes nothing;
// runplan cleanup restores maxmemory and maxmemory-policy to their
// originals and removes the dead run's keys, and the journal is empty
// afterwards.
func TestCleanupAfterKill(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lfu")
	state := t.TempDir()
	dir := t.TempDir()
	squeeze := filepath.Join(dir, "squeeze.yaml")
	if err := os.WriteFile(squeeze, fmt.Appendf(nil, `version: 1
targets:
  cache: {driver: redis, url: "%s", allow_destructive: true}
scenarios:
  writes:
    load: {vus: 2, duration: 10m}
    steps: [{redis: [SET, "k:{{ iteration }}", v]}]
faults:
  - {name: squeeze, target: cache, at: 500ms, for: 10m, memory_squeeze: {maxmemory: 64mb, policy: allkeys-lru}}
`, srv.URL()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer c.Close()
	config := func() (string, string) {
		t.Helper()
		got, err := c.ConfigGet(ctx, "maxmemory*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return got["maxmemory"], got["maxmemory-policy"]
	}

	cmd, stdout, stderr := child(t, state, "run", squeeze, "--allow-destructive", "--no-progress", "--log-format", "json")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Ready when the squeeze is on the server (and keys were written
	// before it): the journal was written before the change.
	for ready := false; !ready; {
		select {
		case err := <-exited:
			t.Fatalf("the run ended before the squeeze: %v\n%s\n%s", err, stdout, stderr)
		case <-time.After(10 * time.Millisecond):
		}
		mm, policy := config()
		n, err := c.DBSize(ctx).Result()
		ready = err == nil && n > 0 && mm == "67108864" && policy == "allkeys-lru"
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	if mm, policy := config(); mm != "67108864" || policy != "allkeys-lru" {
		t.Fatalf("after SIGKILL: maxmemory %s, policy %s; the squeeze should still be on", mm, policy)
	}
	files := journalFiles(t, state)
	if len(files) != 1 {
		t.Fatalf("journal files after SIGKILL: %v", files)
	}
	runs, errs := journal.Load(filepath.Dir(files[0]))
	if len(errs) > 0 || len(runs) != 1 {
		t.Fatalf("journal: %v %v", runs, errs)
	}
	deadID := runs[0].RunID
	server := srv.URL() + "/0"

	// The next run against the same server warns.
	read := filepath.Join(dir, "read.yaml")
	if err := os.WriteFile(read, fmt.Appendf(nil, `version: 1
targets:
  cache: {driver: redis, url: "%s"}
scenarios:
  reads:
    load: {vus: 1, iterations: 5}
    steps: [{redis: [GET, k]}]
`, srv.URL()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "read.json")
	code, so, se := runChild(t, state, "run", read, "--no-progress", "--out", out)
	flat := strings.Join(strings.Fields(so), " ")
	// (The value set is journaled just after the change: a kill between
	// the two leaves "maxmemory=changed (was 104857600)".)
	for _, w := range []string{"WARNING: a dead run " + deadID, "(was 104857600) on " + srv.Addr(), "maxmemory-policy=",
		"(was allkeys-lfu) on " + srv.Addr(), "restore with: runplan cleanup " + server} {
		if !strings.Contains(flat, w) {
			t.Errorf("the next run's console lacks %q (exit %d):\n%s\n%s", w, code, so, se)
		}
	}
	rep := readReport(t, out)
	if dr, _ := rep["dead_runs"].([]any); len(dr) != 1 || dr[0].(map[string]any)["run_id"] != deadID {
		t.Errorf("report dead_runs = %v", rep["dead_runs"])
	}
	if code != ExitOK {
		t.Errorf("the next run exited %d: a dead run's leftovers are a warning\n%s", code, se)
	}

	// A dry run changes nothing.
	code, so, _ = runChild(t, state, "cleanup", server, "--dry-run")
	if mm, _ := config(); code != ExitOK || mm != "67108864" || !strings.Contains(so, "dry run") {
		t.Errorf("dry run: exit %d, maxmemory %s\n%s", code, mm, so)
	}

	// runplan cleanup restores the originals and removes the keys.
	keys, err := c.DBSize(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	code, so, se = runChild(t, state, "cleanup", server)
	if code != ExitOK {
		t.Fatalf("cleanup exit %d\n%s\n%s", code, so, se)
	}
	for _, w := range []string{"restored maxmemory=104857600", "restored maxmemory-policy=allkeys-lfu",
		fmt.Sprintf("removed %d keys under %q", keys, "runplan:"+deadID+":")} {
		if !strings.Contains(so, w) {
			t.Errorf("cleanup output lacks %q:\n%s", w, so)
		}
	}
	if mm, policy := config(); mm != "104857600" || policy != "allkeys-lfu" {
		t.Errorf("after cleanup: maxmemory %s, policy %s", mm, policy)
	}
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("DBSIZE after cleanup = %d, %v", n, err)
	}
	if files := journalFiles(t, state); len(files) != 0 {
		t.Errorf("journal files after cleanup: %v", files)
	}
	// Nothing left: a second cleanup says so.
	if code, so, _ := runChild(t, state, "cleanup", server); code != ExitOK || !strings.Contains(so, "nothing to restore") {
		t.Errorf("second cleanup: exit %d\n%s", code, so)
	}
}

// runplan cleanup refuses what it cannot handle, without printing the
// URL's password.
func TestCleanupUsage(t *testing.T) {
	t.Parallel()
	const pw = "CANARYpw"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"cleanup"}, "give exactly one URL"},
		{"unknown scheme", []string{"cleanup", "http://u:" + pw + "@example.com/x"}, "no driver restores http://"},
		{"not a url", []string{"cleanup", "cache"}, "want a URL"},
		{"bad sentinel url", []string{"cleanup", "redis-sentinel://:" + pw + "@h:1"}, "name the master"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMain(t, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tt.want)
			}
			if strings.Contains(stdout+stderr, pw) {
				t.Errorf("the password shows: %s%s", stdout, stderr)
			}
		})
	}
}

// A run that cannot undo what it changed (the server died during a memory
// squeeze) exits 3, prints NOT UNDONE with the command that restores it,
// and its report lists the leftovers — whatever its checks say.
func TestLeftoversExitRuntime(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--maxmemory", "100mb")
	dir := t.TempDir()
	path := filepath.Join(dir, "squeeze.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, `version: 1
targets:
  cache: {driver: redis, url: "%s", allow_destructive: true, timeout: 300ms}
scenarios:
  writes:
    load: {vus: 1, duration: 3s}
    steps: [{redis: [SET, k, v]}]
faults:
  - {name: squeeze, target: cache, at: 200ms, for: 10m, memory_squeeze: {maxmemory: 64mb}}
`, srv.URL()), 0o600); err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer c.Close()
	out := filepath.Join(dir, "r.json")
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := runMain(t, "run", path, "--allow-destructive", "--no-progress", "--out", out)
		done <- result{code, stdout, stderr}
	}()
	// The squeeze is on: the server dies before the run can undo it.
	for {
		if mm, err := c.ConfigGet(context.Background(), "maxmemory").Result(); err == nil && mm["maxmemory"] == "67108864" {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the run ended before the squeeze: exit %d\n%s", r.code, r.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	srv.Stop()
	r := <-done
	if r.code != ExitRuntime {
		t.Errorf("exit %d, want %d", r.code, ExitRuntime)
	}
	flat := strings.Join(strings.Fields(r.stdout), " ")
	for _, w := range []string{"NOT UNDONE", "(was 104857600) on " + srv.Addr(), "restore with: runplan cleanup " + srv.URL() + "/0"} {
		if !strings.Contains(flat, w) {
			t.Errorf("console lacks %q:\n%s", w, r.stdout)
		}
	}
	rep := readReport(t, out)
	left, _ := rep["leftovers"].([]any)
	if len(left) != 2 { // the setting and the run's keys
		t.Errorf("leftovers = %v", rep["leftovers"])
	}
	if j, _ := rep["journal"].(string); j == "" {
		t.Error("the report does not name the journal that keeps the leftovers")
	} else {
		_ = os.Remove(j) // the package's state directory is shared
	}
}
