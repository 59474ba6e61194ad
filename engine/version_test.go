package engine

import (
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestResolveBuild(t *testing.T) {
	t.Parallel()
	vcs := func(rev, at, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: at},
			{Key: "vcs.modified", Value: modified},
		}
	}
	tests := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Build
	}{
		{
			name:    "release build: ldflags win over the VCS stamp",
			version: "1.2.3", commit: "0123456789abcdef0123456789abcdef01234567", date: "2026-12-02T06:00:00Z",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
				Settings: vcs("0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z", "true")},
			want: Build{Version: "1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-02T06:00:00Z",
				DateSource: "build", GoVersion: "go1.26.8"},
		},
		{
			name:    "go build in a checkout: pseudo-version and VCS stamp",
			version: DevVersion,
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201100000-5abfbb5abcde+dirty"},
				Settings: vcs("5abfbb5abcde0000000000000000000000000000", "2026-12-01T10:00:00Z", "true")},
			want: Build{Version: "0.0.0-20261201100000-5abfbb5abcde+dirty", Commit: "5abfbb5abcde0000000000000000000000000000",
				Date: "2026-12-01T10:00:00Z", DateSource: "commit", Modified: true, GoVersion: "go1.26.8"},
		},
		{
			name:    "go install at a tag: module version, no VCS stamp",
			version: DevVersion,
			bi:      &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			want:    Build{Version: "1.4.0", GoVersion: "go1.26.8"},
		},
		{
			name:    "devel build without VCS (-buildvcs=false)",
			version: DevVersion,
			bi:      &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want:    Build{Version: DevVersion, GoVersion: "go1.26.8"},
		},
		{
			name:    "clean checkout",
			version: DevVersion,
			bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
				Settings: vcs("fedcba", "2026-11-30T00:00:00Z", "false")},
			want: Build{Version: DevVersion, Commit: "fedcba", Date: "2026-11-30T00:00:00Z", DateSource: "commit"},
		},
		{
			name:    "ldflags version only: the VCS stamp fills the rest",
			version: "2.0.0",
			bi: &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"},
				Settings: vcs("fedcba", "2026-11-30T00:00:00Z", "false")},
			want: Build{Version: "2.0.0", Commit: "fedcba", Date: "2026-11-30T00:00:00Z", DateSource: "commit"},
		},
		{
			name:    "GoReleaser snapshot without a remote: commit none, the VCS stamp has it",
			version: "0.0.1-snapshot+none", commit: "none", date: "2026-12-02T06:00:00Z",
			bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
				Settings: vcs("fedcba", "2026-11-30T00:00:00Z", "false")},
			want: Build{Version: "0.0.1-snapshot+none", Commit: "fedcba", Date: "2026-12-02T06:00:00Z", DateSource: "build"},
		},
		{
			name:    "no build information",
			version: DevVersion,
			want:    Build{Version: DevVersion},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := resolveBuild(tt.version, tt.commit, tt.date, tt.bi); got != tt.want {
				t.Errorf("resolveBuild:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestBuildString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b    Build
		want string
	}{
		{Build{Version: "1.2.3", Commit: "abc", Date: "2026-12-02T06:00:00Z", DateSource: "build", GoVersion: "go1.26.8", Platform: "linux/arm64"},
			"runplan 1.2.3\ncommit:  abc\nbuilt:   2026-12-02T06:00:00Z\ngo:      go1.26.8 linux/arm64\n"},
		{Build{Version: "0.0.0-x+dirty", Commit: "abc", Date: "2026-12-01T10:00:00Z", DateSource: "commit", Modified: true},
			"runplan 0.0.0-x+dirty\ncommit:  abc (modified: built from a work tree with uncommitted changes)\nbuilt:   unknown (commit time 2026-12-01T10:00:00Z)\n"},
		{Build{Version: DevVersion}, "runplan " + DevVersion + "\ncommit:  unknown\nbuilt:   unknown\n"},
	}
	for _, tt := range tests {
		if got := tt.b.String(); got != tt.want {
			t.Errorf("%+v:\n got %q\nwant %q", tt.b, got, tt.want)
		}
	}
}

// TestReleaseLdflags: the release build's -X flags name variables of this
// package that BuildInfo reads (the linker ignores a -X for a name that
// does not exist), and it builds what docs/DEPLOY.md promises: static,
// trimmed binaries for Linux, macOS and Windows on amd64 and arm64.
func TestReleaseLdflags(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Version int `yaml:"version"`
		Builds  []struct {
			Main    string   `yaml:"main"`
			Env     []string `yaml:"env"`
			Goos    []string `yaml:"goos"`
			Goarch  []string `yaml:"goarch"`
			Flags   []string `yaml:"flags"`
			Ldflags []string `yaml:"ldflags"`
		} `yaml:"builds"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Version != 2 || len(cfg.Builds) != 1 {
		t.Fatalf("version %d, %d builds: want GoReleaser v2's format and one build", cfg.Version, len(cfg.Builds))
	}
	bd := cfg.Builds[0]
	if bd.Main != "./cmd/runplan" || !slices.Contains(bd.Env, "CGO_ENABLED=0") || !slices.Contains(bd.Flags, "-trimpath") {
		t.Errorf("main %q, env %v, flags %v: want ./cmd/runplan, CGO_ENABLED=0, -trimpath", bd.Main, bd.Env, bd.Flags)
	}
	slices.Sort(bd.Goos)
	slices.Sort(bd.Goarch)
	if !slices.Equal(bd.Goos, []string{"darwin", "linux", "windows"}) || !slices.Equal(bd.Goarch, []string{"amd64", "arm64"}) {
		t.Errorf("goos %v, goarch %v", bd.Goos, bd.Goarch)
	}
	vars := map[string]*string{"Version": &Version, "Commit": &Commit, "Date": &Date}
	set := map[string]string{}
	for _, f := range strings.Fields(strings.Join(bd.Ldflags, " ")) {
		if f == "-X" || !strings.Contains(f, "=") {
			continue
		}
		name, tmpl, _ := strings.Cut(f, "=")
		dot := strings.LastIndexByte(name, '.')
		pkg, v := name[:max(dot, 0)], name[dot+1:]
		if pkg != "github.com/runplan/runplan/engine" || vars[v] == nil {
			t.Errorf("ldflags -X %s: not a variable BuildInfo reads", name)
			continue
		}
		set[v] = tmpl
	}
	want := map[string]string{"Version": "{{.Version}}", "Commit": "{{.FullCommit}}", "Date": "{{.Date}}"}
	if !maps.Equal(set, want) {
		t.Errorf("ldflags set %v, want %v", set, want)
	}
}
