package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLogFieldsCarryTheirUnit reads runplan's sources: no log field is a
// zerolog Dur (whose unit is a global setting, not in the field's name),
// and every number logged under a duration-like name says its unit
// (took_ms, p99_ms, elapsed_s). See docs/METRICS.md, Logs.
func TestLogFieldsCarryTheirUnit(t *testing.T) {
	t.Parallel()
	dur := regexp.MustCompile(`\.(Dur|TimeDiff)\("`)
	field := regexp.MustCompile(`\.(Float64|Float32|Int64|Int|Uint64)\("([a-z0-9_]+)"`)
	durationName := regexp.MustCompile(`(^|_)(took|elapsed|lag|latency|p\d+|max|min|mean|wait|planned|in|after|duration|delay|timeout|rate|size|memory|rss)$`)
	unit := regexp.MustCompile(`_(ns|us|ms|s|per_s|bytes)$`)
	root := filepath.Join("..", "..", "..")
	n := 0
	for _, dir := range []string{"engine", "scenarios", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				if !strings.Contains(line, "Msg(") && !strings.Contains(line, "log.") && !strings.Contains(line, "ev.") && !strings.Contains(line, "Log.") {
					continue
				}
				n++
				if dur.MatchString(line) {
					t.Errorf("%s:%d: a Dur log field: log a Float64 with the unit in its name (took_ms)\n%s", path, i+1, strings.TrimSpace(line))
				}
				for _, m := range field.FindAllStringSubmatch(line, -1) {
					if durationName.MatchString(m[2]) && !unit.MatchString(m[2]) {
						t.Errorf("%s:%d: log field %q has no unit in its name", path, i+1, m[2])
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no log call found: the test reads the wrong folder")
	}
}
