package k8s

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runplan/runplan/engine/plan"
)

// Collect reads what Build needs of the loaded plan p: its file, the
// fragments it includes and its data files, with their paths relative to
// the directory that holds them all (the pods mount it at PlanDir), and
// vars, the ${VAR} names its loading looked up.
func Collect(p *plan.Plan, vars []string) (Input, error) {
	paths := []string{p.File}
	paths = append(paths, p.Fragments...)
	for _, d := range p.Data {
		if filepath.IsAbs(d.File) {
			return Input{}, fmt.Errorf("k8s: data source %s: file %s is absolute: the pods cannot read it; write it relative to the plan", d.Name, d.File)
		}
		paths = append(paths, d.Path)
	}
	abs := make([]string, 0, len(paths))
	seen := map[string]bool{}
	for _, f := range paths {
		a, err := filepath.Abs(f)
		if err != nil {
			return Input{}, fmt.Errorf("k8s: %w", err)
		}
		if !seen[a] {
			seen[a] = true
			abs = append(abs, a)
		}
	}
	root := filepath.Dir(abs[0])
	for _, a := range abs[1:] {
		for !within(root, a) {
			root = filepath.Dir(root)
		}
	}
	in := Input{Name: p.Name, End: p.MaxEnd(), Vars: slices.Sorted(slices.Values(slices.Compact(slices.Sorted(slices.Values(vars)))))}
	for i, a := range abs {
		data, err := os.ReadFile(a)
		if err != nil {
			return Input{}, fmt.Errorf("k8s: %w", err)
		}
		rel, err := filepath.Rel(root, a)
		if err != nil {
			return Input{}, fmt.Errorf("k8s: %w", err)
		}
		rel = filepath.ToSlash(rel)
		if i == 0 {
			in.PlanPath = rel
		}
		in.Files = append(in.Files, File{Path: rel, Data: data})
	}
	return in, nil
}

// within reports whether path a is in directory dir (or below).
func within(dir, a string) bool {
	rel, err := filepath.Rel(dir, a)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
