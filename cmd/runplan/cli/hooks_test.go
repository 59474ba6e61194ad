package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestPreCommitHooks checks the pre-commit manifest at the repository's
// root: both hooks, built with Go, each running a runplan command that
// exists and takes the flags the entry gives it.
func TestPreCommitHooks(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID            string   `yaml:"id"`
		Name          string   `yaml:"name"`
		Description   string   `yaml:"description"`
		Entry         string   `yaml:"entry"`
		Language      string   `yaml:"language"`
		Types         []string `yaml:"types"`
		Files         string   `yaml:"files"`
		PassFilenames *bool    `yaml:"pass_filenames"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&hooks); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"runplan-validate": "validate", "runplan-fmt": "fmt"}
	var ids []string
	for _, h := range hooks {
		ids = append(ids, h.ID)
		cmd, ok := want[h.ID]
		if !ok {
			continue
		}
		args := strings.Fields(h.Entry)
		if len(args) < 2 || args[0] != "runplan" || args[1] != cmd {
			t.Errorf("%s: entry %q, want runplan %s ...", h.ID, h.Entry, cmd)
			continue
		}
		if h.Language != "golang" || h.Name == "" || h.PassFilenames == nil || !*h.PassFilenames || !slices.Contains(h.Types, "yaml") {
			t.Errorf("%s: %+v", h.ID, h)
		}
		var stdout, stderr bytes.Buffer
		if code := Main(append(args[1:], "--help"), &stdout, &stderr); code != ExitOK {
			t.Errorf("%s: %s --help: exit %d\n%s", h.ID, h.Entry, code, stderr.String())
		}
	}
	if !slices.Equal(ids, []string{"runplan-validate", "runplan-fmt"}) {
		t.Errorf("hooks %v, want runplan-validate and runplan-fmt", ids)
	}
}
