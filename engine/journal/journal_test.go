package journal

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// files lists the journal directory's entries (temporary files included).
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// Record writes the file before the change is made, keeps the first
// original value when the same setting is recorded again, and Forget
// removes the file with the last entry.
func TestRecordForget(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "journal") // created on first write
	j := New(dir, Run{RunID: "20260102T030405-ab12", Plan: "p.yaml"})
	l := j.For("cache", "redis", "redis://127.0.0.1:7000/0")
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files before any entry: %v", got)
	}
	keys := Entry{Kind: KindKeys, Name: "runplan:20260102T030405-ab12:"}
	mm := Entry{Kind: KindSetting, Node: "127.0.0.1:7000", Name: "maxmemory", Was: "0", Fault: "squeeze"}
	for _, e := range []Entry{keys, mm} {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	// The same setting again: what the run set, the original kept.
	again := mm
	again.Was, again.Now = "1048576", "1048576"
	if err := l.Record(again); err != nil {
		t.Fatal(err)
	}
	runs, errs := Load(dir)
	if len(errs) > 0 || len(runs) != 1 {
		t.Fatalf("load: %v %v", runs, errs)
	}
	r := runs[0]
	if r.RunID != "20260102T030405-ab12" || r.PID != os.Getpid() || r.Plan != "p.yaml" || r.Started.IsZero() {
		t.Errorf("run = %+v", r)
	}
	if len(r.Targets) != 1 || r.Targets[0].Server != "redis://127.0.0.1:7000/0" || len(r.Targets[0].Entries) != 2 {
		t.Fatalf("targets = %+v", r.Targets)
	}
	if e := r.Targets[0].Entries[1]; e.Was != "0" || e.Now != "1048576" {
		t.Errorf("setting recorded twice = %+v, want was 0 (the original), now 1048576", e)
	}
	fi, err := os.Stat(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode %o, want 600", mode)
	}
	if err := l.Forget(Entry{Kind: KindSetting, Node: "127.0.0.1:7000", Name: "maxmemory"}); err != nil {
		t.Fatal(err)
	}
	if left := j.Left(); len(left) != 1 || len(left[0].Entries) != 1 || left[0].Entries[0] != keys {
		t.Errorf("left = %+v", left)
	}
	if err := l.Forget(keys); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files after every entry was forgotten: %v", got)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files after Close: %v", got)
	}
}

// Close keeps the file while entries are left; a journal without a
// directory keeps them in memory and writes nothing.
func TestCloseKeepsWhatIsLeft(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dir     bool
		entries int
		files   int
	}{
		{"on disk, something left", true, 1, 1},
		{"on disk, nothing recorded", true, 0, 0},
		{"in memory", false, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := ""
			if tt.dir {
				dir = root
			}
			j := New(dir, Run{RunID: "r1"})
			l := j.For("cache", "redis", "redis://h:1/0")
			for i := range tt.entries {
				if err := l.Record(Entry{Kind: KindKeys, Name: "runplan:r1:" + string(rune('a'+i))}); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if got := files(t, root); len(got) != tt.files {
				t.Errorf("files %v, want %d", got, tt.files)
			}
			if n := len(j.Left()); n != min(tt.entries, 1) {
				t.Errorf("left %d targets", n)
			}
		})
	}
}

// A write that fails is reported by Record and leaves the entry out: the
// driver must not make the change.
func TestRecordFailsWithoutDirectory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	blocker := filepath.Join(root, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	j := New(filepath.Join(blocker, "journal"), Run{RunID: "r1"}) // a directory under a file
	l := j.For("cache", "redis", "redis://h:1/0")
	if err := l.Record(Entry{Kind: KindSetting, Name: "maxmemory", Was: "0"}); err == nil {
		t.Fatal("Record succeeded in an impossible directory")
	}
	if left := j.Left(); len(left) != 0 {
		t.Errorf("the failed entry is kept: %+v", left)
	}
}

// Concurrent records and forgets (faults on several nodes at once) lose
// nothing, and the file is complete JSON whenever it is read.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := New(dir, Run{RunID: "r1"})
	l := j.For("cache", "redis", "redis-cluster://h:1,h:2")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			e := Entry{Kind: KindSetting, Node: "h:" + string(rune('a'+i)), Name: "maxmemory", Was: "0"}
			if err := l.Record(e); err != nil {
				t.Error(err)
			}
			if _, errs := Load(dir); len(errs) > 0 {
				t.Error(errs)
			}
			if i%2 == 0 {
				if err := l.Forget(e); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	runs, errs := Load(dir)
	if len(errs) > 0 || len(runs) != 1 || len(runs[0].Targets[0].Entries) != 8 {
		t.Fatalf("runs %+v, errs %v", runs, errs)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Errorf("temporary files left: %v", got)
	}
}

// Liveness: this process is alive, a process that exited is dead, a pid
// now held by another process (its start time differs) is dead, and a run
// of another host cannot be told.
func TestLiveness(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	exited := cmd.Process.Pid // reaped by Run
	self := os.Getpid()
	tests := []struct {
		name string
		run  Run
		want Liveness
	}{
		{"this process", Run{PID: self, Host: host, ProcStart: procStart(self)}, Alive},
		{"an exited process", Run{PID: exited, Host: host}, Dead},
		{"a reused pid", Run{PID: self, Host: host, ProcStart: procStart(self) + 1}, Dead},
		{"another host", Run{PID: self, Host: host + "-elsewhere"}, Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.name == "a reused pid" && procStart(self) == 0 {
				t.Skip("this system does not tell a process's start time")
			}
			if got := tt.run.Liveness(); got != tt.want {
				t.Errorf("Liveness = %v, want %v", got, tt.want)
			}
		})
	}
}

// Load skips files it cannot decode and says which; Save rewrites a run
// after cleanup and removes it once empty.
func TestLoadSave(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	j := New(dir, Run{RunID: "r/../1"}) // an odd id stays inside dir
	l := j.For("cache", "redis", "redis://h:1/0")
	for _, e := range []Entry{{Kind: KindKeys, Name: "runplan:r:"}, {Kind: KindPause, Name: "ALL", Until: time.Now().Add(time.Hour)}} {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	if filepath.Dir(j.Path()) != dir {
		t.Fatalf("journal written to %s, outside %s", j.Path(), dir)
	}
	runs, errs := Load(dir)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "broken.json") || len(runs) != 1 {
		t.Fatalf("runs %+v, errs %v", runs, errs)
	}
	r := runs[0]
	r.Targets[0].Entries = r.Targets[0].Entries[:1]
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	var back Run
	if err := json.Unmarshal(data, &back); err != nil || len(back.Targets[0].Entries) != 1 {
		t.Fatalf("saved %s: %v", data, err)
	}
	r.Targets[0].Entries = nil
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.Path()); !os.IsNotExist(err) {
		t.Errorf("empty run's file still there: %v", err)
	}
}

// DefaultDir follows XDG_STATE_HOME, else ~/.local/state.
func TestDefaultDir(t *testing.T) {
	// t.Setenv: not parallel.
	t.Setenv("XDG_STATE_HOME", "/state")
	if d, err := DefaultDir(); err != nil || d != "/state/runplan/journal" {
		t.Errorf("with XDG_STATE_HOME: %q, %v", d, err)
	}
	t.Setenv("XDG_STATE_HOME", "relative") // ignored, as the spec says
	t.Setenv("HOME", "/home/u")
	if d, err := DefaultDir(); err != nil || d != "/home/u/.local/state/runplan/journal" {
		t.Errorf("without XDG_STATE_HOME: %q, %v", d, err)
	}
}

// Entries describe themselves for people.
func TestEntryString(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		e    Entry
		want string
	}{
		{Entry{Kind: KindSetting, Node: "h:1", Name: "maxmemory", Was: "0", Now: "1048576"}, "maxmemory=1048576 (was 0) on h:1"},
		{Entry{Kind: KindSetting, Name: "maxmemory-policy", Was: ""}, `maxmemory-policy=changed (was "")`},
		{Entry{Kind: KindPause, Node: "h:1", Name: "ALL", Until: until}, "clients paused (all) on h:1 until 2026-01-02T03:04:05Z, when the pause ends by itself"},
		{Entry{Kind: KindKeys, Name: "runplan:r1:"}, `keys under "runplan:r1:"`},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
	if !(Entry{Until: until}).Expired(until) || (Entry{Until: until}).Expired(until.Add(-time.Nanosecond)) || (Entry{}).Expired(until) {
		t.Error("Expired")
	}
}
