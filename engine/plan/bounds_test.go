package plan

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/diag"
)

// billionLaughs is the YAML alias bomb: nine levels of nine aliases to the
// level below, 9^9 strings once expanded, in a few hundred bytes.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("version: 1\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n")
	for c := 'b'; c <= 'i'; c++ {
		ref := fmt.Sprintf("*%c", c-1)
		fmt.Fprintf(&b, "%c: &%c [%s]\n", c, c, strings.Repeat(ref+",", 8)+ref)
	}
	b.WriteString("scenarios: {s1: {load: {iterations: 1}, steps: [{redis: *i}]}}\n")
	return b.String()
}

// manyScenarios writes scenarios until the plan is about size bytes.
// It stops at the first write that fails (a pipe closed by its reader), so
// that no goroutine goes on allocating behind later measurements.
func manyScenarios(w *bufio.Writer, size int) {
	n, err := w.WriteString("version: 1\nscenarios:\n")
	for i := 0; n < size-100 && err == nil; i++ {
		var k int
		k, err = fmt.Fprintf(w, "  s%d: {load: {vus: 1, duration: 1s}, steps: [{sleep: 1ms}]}\n", i)
		n += k
	}
}

func writePlan(t *testing.T, name string, size int, fill func(*bufio.Writer, int)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fill(w, size)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHostilePlansAreBounded loads plans built to exhaust the loader and
// checks that each is refused with a clear diagnostic while allocating
// little. It does not measure time: the memory bound (cumulative
// allocations) is what a slow machine cannot change, and the unbounded
// versions of these plans took minutes and gigabytes.
//
// It does not run in parallel: TotalAlloc counts the whole process, and
// parallel tests only start once the serial ones are done.
func TestHostilePlansAreBounded(t *testing.T) {
	const mb = 1 << 20
	dense := func(w *bufio.Writer, size int) {
		w.WriteString("version: 1\nx: [")
		w.WriteString(strings.Repeat("1,", (size-20)/2))
		w.WriteString("1]\n")
	}
	tests := []struct {
		name     string
		path     func(t *testing.T) string
		opts     Options
		want     string // a diagnostic, exactly
		maxAlloc uint64
	}{
		{
			name: "billion laughs",
			path: func(t *testing.T) string {
				src := billionLaughs()
				if len(src) > 512 {
					t.Fatalf("the bomb is %d bytes; it should fit in 512", len(src))
				}
				return writePlan(t, "bomb.yaml", 0, func(w *bufio.Writer, _ int) { w.WriteString(src) })
			},
			want:     `bomb.yaml:6:14: alias *d expands the plan past its limit of 26,214 YAML nodes: an alias counts all the nodes of its value each time it is used (--max-plan-size raises the limit, now 256KiB: one node per 10 bytes)`,
			maxAlloc: 1 * mb,
		},
		{
			name: "billion laughs past a raised limit",
			path: func(t *testing.T) string {
				return writePlan(t, "bomb.yaml", 0, func(w *bufio.Writer, _ int) { w.WriteString(billionLaughs()) })
			},
			opts:     Options{StepKinds: testKinds, Schema: testSchema, MaxSize: 64 * mb},
			want:     `bomb.yaml:8:32: alias *f expands the plan past its limit of 6,710,886 YAML nodes: an alias counts all the nodes of its value each time it is used (--max-plan-size raises the limit, now 64MiB: one node per 10 bytes)`,
			maxAlloc: 1 * mb,
		},
		{
			name: "alias cycle",
			path: func(t *testing.T) string {
				return writePlan(t, "cycle.yaml", 0, func(w *bufio.Writer, _ int) {
					w.WriteString("version: 1\nscenarios:\n  s1:\n    steps: &a [{sleep: 1s}, *a]\n")
				})
			},
			want:     `cycle.yaml:4:29: alias *a is used inside the value it refers to: YAML cannot expand it (move the anchor &a to a value that does not contain the alias)`,
			maxAlloc: 1 * mb,
		},
		{
			name: "50 MB of scenarios is refused unread",
			path: func(t *testing.T) string { return writePlan(t, "huge.yaml", 50*mb, manyScenarios) },
			want: `huge.yaml: the plan is 50.0MiB, more than the 256KiB limit (a plan is usually a few kB): if it really is this large, raise the limit with --max-plan-size, e.g. --max-plan-size 64MiB`,
			// Reading it would allocate 50 MB at least.
			maxAlloc: 1 * mb,
		},
		{
			name: "50 MB through a pipe is read no further than the limit",
			path: func(t *testing.T) string {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					bw := bufio.NewWriter(w)
					manyScenarios(bw, 50*mb) // ends when the reader is closed
					bw.Flush()
					w.Close()
				}()
				t.Cleanup(func() {
					r.Close()
					<-done // no writer left running behind the next measurement
				})
				return fmt.Sprintf("/dev/fd/%d", r.Fd())
			},
			want:     `: the plan is larger than the 256KiB limit (a plan is usually a few kB): if it really is this large, raise the limit with --max-plan-size, e.g. --max-plan-size 4MiB`,
			maxAlloc: 4 * mb,
		},
		{
			name:     "scenarios just under the size limit pass the node limit",
			path:     func(t *testing.T) string { return writePlan(t, "many.yaml", DefaultMaxSize, manyScenarios) },
			want:     `many.yaml:2019:3: the plan has more than 26,214 YAML nodes (values, mappings and lists), its limit: if it really is this large, raise it with --max-plan-size (now 256KiB: one node per 10 bytes; see docs/PLAN-FORMAT.md)`,
			maxAlloc: 100 * mb,
		},
		{
			name: "brackets nested 9,000 deep",
			path: func(t *testing.T) string {
				return writePlan(t, "deep.yaml", 0, func(w *bufio.Writer, _ int) {
					w.WriteString("version: 1\nx: " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\n")
				})
			},
			// Locating every value by its path cost O(depth²): 110 MB here.
			want:     `deep.yaml:2:67: values nest more than 64 deep here, the limit (a plan needs a dozen levels or so)`,
			maxAlloc: 16 * mb,
		},
		{
			name: "an alias nests too deep where it is used",
			path: func(t *testing.T) string {
				return writePlan(t, "deep.yaml", 0, func(w *bufio.Writer, _ int) {
					w.WriteString("version: 1\nx: &a " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n")
					w.WriteString("y: " + strings.Repeat("[", 30) + "*a" + strings.Repeat("]", 30) + "\n")
				})
			},
			want:     `deep.yaml:3:34: alias *a nests values more than 64 deep, the limit`,
			maxAlloc: 1 * mb,
		},
		{
			name:     "a list dense with nodes just under the size limit",
			path:     func(t *testing.T) string { return writePlan(t, "dense.yaml", DefaultMaxSize, dense) },
			want:     `dense.yaml:2:52421: the plan has more than 26,214 YAML nodes (values, mappings and lists), its limit: if it really is this large, raise it with --max-plan-size (now 256KiB: one node per 10 bytes; see docs/PLAN-FORMAT.md)`,
			maxAlloc: 100 * mb,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			opts := tt.opts
			opts.Env = env(nil)
			var p *Plan
			var diags diag.Diagnostics
			alloc := allocated(func() { p, diags = LoadAll(path, opts) })
			if p != nil {
				t.Errorf("the plan was accepted")
			}
			got := diags.Error()
			if len(diags) != 1 || !strings.HasSuffix(got, tt.want) || !strings.HasPrefix(got, path) {
				t.Errorf("diagnostics:\n%s\nwant one ending in:\n%s", got, tt.want)
			}
			if alloc > tt.maxAlloc {
				t.Errorf("loading allocated %d MB, want at most %d MB", alloc>>20, tt.maxAlloc>>20)
			}
			t.Logf("%d KB allocated", alloc>>10)
		})
	}
}

// TestLargestAcceptedPlanIsBounded loads a plan just under the node limit,
// which is valid, to show that what the limits let through is cheap too.
// Not parallel, for the same reason as TestHostilePlansAreBounded.
func TestLargestAcceptedPlanIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nscenarios:\n")
	n := 0
	for i := 0; n+13 < MaxNodes(DefaultMaxSize); i++ {
		fmt.Fprintf(&b, "  s%d: {load: {vus: 1, duration: 1s}, steps: [{sleep: 1ms}]}\n", i)
		n += 13 // name, scenario mapping, load key, load mapping, 4 in it, steps key, list, step mapping, 2 in it
	}
	var p *Plan
	var diags diag.Diagnostics
	alloc := allocated(func() {
		p, diags = ParseAll("big.yaml", []byte(b.String()), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
	})
	if p == nil || len(diags) > 0 {
		t.Fatalf("a plan under the limits was refused:\n%s", diags.Error())
	}
	if alloc > 100<<20 {
		t.Errorf("loading allocated %d MB, want at most 100 MB", alloc>>20)
	}
	t.Logf("%d scenarios, %d bytes, %d KB allocated", len(p.Scenarios), b.Len(), alloc>>10)
}

func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestSizeFlag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Size{"1048576": 1 << 20, "4MiB": 4 << 20, "4mib": 4 << 20, "512KiB": 512 << 10,
		"500KB": 500_000, "1.5MiB": 3 << 19, "2M": 2 << 20, "1GiB": 1 << 30, " 64 MiB ": 64 << 20} {
		var s Size
		if err := s.Set(in); err != nil || s != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1MiB", "4XB", "MiB", "0.1", "1e30GiB"} {
		var s Size
		if err := s.Set(in); err == nil {
			t.Errorf("Set(%q) = %d, want an error", in, s)
		}
	}
	for s, want := range map[Size]string{256 << 10: "256KiB", 50 << 20: "50MiB", 1048558: "1.0MiB", 3 << 19: "1.5MiB", 100: "100B"} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d) = %q, want %q", int64(s), got, want)
		}
	}
}

// BenchmarkRefuseHostilePlans times the refusals that TestHostilePlansAreBounded
// checks by memory: each should take well under a second.
func BenchmarkRefuseHostilePlans(b *testing.B) {
	var many strings.Builder
	w := bufio.NewWriter(&many)
	manyScenarios(w, DefaultMaxSize)
	w.Flush()
	for _, bc := range []struct{ name, src string }{
		{"billion laughs", billionLaughs()},
		{"scenarios just under the size limit", many.String()},
		{"brackets nested 9,000 deep", "version: 1\nx: " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if p, _ := ParseAll("p.yaml", []byte(bc.src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)}); p != nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
