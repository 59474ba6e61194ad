package k8s

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestNames(t *testing.T) {
	t.Parallel()
	tests := []struct{ plan, runID, base string }{
		{"signal-delivery", "r1", "signal-delivery-r1"},
		{"Phase 1: Cache_Mix!", "abc", "phase-1-cache-mix-abc"},
		{"", "abc", "runplan-abc"},
		{"!!!", "abc", "runplan-abc"},
		{strings.Repeat("very-long-plan-name-", 10), "0123456789abcdef0123", ""},
	}
	for _, tt := range tests {
		base, merge := Names(tt.plan, tt.runID)
		if tt.base != "" && base != tt.base {
			t.Errorf("Names(%q, %q) = %q, want %q", tt.plan, tt.runID, base, tt.base)
		}
		// Indexed Job pods are named JOB-INDEX-xxxxx and carry the Job's
		// name in a label: 63 characters at most.
		for _, n := range []string{base, merge, base + "-reports", base + "-99999"} {
			if msgs := validation.IsDNS1123Label(n); len(msgs) > 0 {
				t.Errorf("Names(%q, %q): %q: %v", tt.plan, tt.runID, n, msgs)
			}
		}
		if !strings.HasSuffix(base, "-"+tt.runID) {
			t.Errorf("base %q lacks the run id %q", base, tt.runID)
		}
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 5, 0, 0, 500_000_000, time.FixedZone("X", -7200))
	in := Input{Name: "p", PlanPath: "a/plan.yaml", End: 90 * time.Second, Files: []File{
		{Path: "a/plan.yaml", Data: []byte("name: p\n")},
		{Path: "a__plan.yaml", Data: []byte("collides with a/plan.yaml once '/' is mapped\n")},
		{Path: "data/bin.dat", Data: []byte{0xff, 0xfe, 0}},
	}}
	m, err := Build(in, Options{Parallelism: 2, Image: "example.org/runplan:test", RunID: "r1", Now: now, StartLead: time.Minute, MergeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 2, 7, 1, 0, 0, time.UTC); !m.StartAt.Equal(want) || m.StartAt.Location() != time.UTC {
		t.Errorf("StartAt %v, want %v (now + lead, whole seconds, UTC)", m.StartAt, want)
	}
	items := m.Segments.Spec.Template.Spec.Volumes[0].ConfigMap.Items
	keys := map[string]string{}
	for _, it := range items {
		if _, dup := keys[it.Key]; dup {
			t.Errorf("key %s used twice", it.Key)
		}
		keys[it.Key] = it.Path
		if msgs := validation.IsConfigMapKey(it.Key); len(msgs) > 0 {
			t.Errorf("key %q: %v", it.Key, msgs)
		}
		_, text := m.ConfigMap.Data[it.Key]
		_, bin := m.ConfigMap.BinaryData[it.Key]
		if text == bin || bin != (it.Path == "data/bin.dat") {
			t.Errorf("key %s (%s): in data %v, in binaryData %v", it.Key, it.Path, text, bin)
		}
	}
	if len(keys) != 3 {
		t.Errorf("items %v", items)
	}
	// The merge waits until start + the plan's end + the merge timeout.
	wait := m.Merge.Spec.Template.Spec.InitContainers[0].Command[2]
	if want := time.Date(2026, 12, 2, 7, 3, 30, 0, time.UTC); !strings.Contains(wait, "deadline="+strconv.FormatInt(want.Unix(), 10)) {
		t.Errorf("wait script lacks deadline %v:\n%s", want, wait)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	ok := Input{Name: "p", PlanPath: "plan.yaml", Files: []File{{Path: "plan.yaml", Data: []byte("x")}}}
	base := Options{Parallelism: 2, Image: "example.org/runplan:test", RunID: "r1", Now: time.Unix(0, 0)}
	tests := []struct {
		name string
		in   Input
		opt  func(*Options)
		want string
	}{
		{"parallelism", ok, func(o *Options) { o.Parallelism = 0 }, "--parallelism 0"},
		{"no image", ok, func(o *Options) { o.Image = "" }, "no --image: build runplan's image from the repository's Dockerfile"},
		{"run id", ok, func(o *Options) { o.RunID = "UPPER" }, `--run-id "UPPER"`},
		{"long run id", ok, func(o *Options) { o.RunID = strings.Repeat("a", 21) }, "--run-id"},
		{"namespace", ok, func(o *Options) { o.Namespace = "a_b" }, `--namespace "a_b"`},
		{"secret", ok, func(o *Options) { o.Secret = "A B" }, `--secret "A B"`},
		{"cpu", ok, func(o *Options) { o.CPU = "lots" }, `--cpu "lots"`},
		{"outside", Input{Name: "p", PlanPath: "plan.yaml", Files: []File{{Path: "plan.yaml"}, {Path: "../x.csv"}}}, nil, `file "../x.csv"`},
		{"too big", Input{Name: "p", PlanPath: "plan.yaml", Files: []File{{Path: "plan.yaml", Data: make([]byte, MaxConfigMapBytes+1)}}}, nil, "a ConfigMap holds at most"},
		{"no plan", Input{Name: "p", PlanPath: "plan.yaml"}, nil, `the plan file "plan.yaml" is not among the files`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := base
			if tt.opt != nil {
				tt.opt(&o)
			}
			_, err := Build(tt.in, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
