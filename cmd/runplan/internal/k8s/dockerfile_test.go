package k8s

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile checks the repository's Dockerfile statically (no docker
// daemon here): a Go build stage with a static, trimmed binary, a final
// stage on a small base, a non-root user matching the manifests', and the
// binary where the manifests' command finds it.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		from, name string
		lines      []string
	}
	var stages []*stage
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if strings.EqualFold(f[0], "FROM") {
			s := &stage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				s.name = f[3]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before FROM: %s", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build and a final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build.from, "golang:1.26") {
		t.Errorf("build stage FROM %s, want golang:1.26", build.from)
	}
	buildText := strings.Join(build.lines, "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/runplan"} {
		if !strings.Contains(buildText, want) {
			t.Errorf("build stage lacks %s:\n%s", want, buildText)
		}
	}
	if !regexp.MustCompile(`^(gcr\.io/distroless/static|scratch|alpine)`).MatchString(final.from) {
		t.Errorf("final stage FROM %s, want distroless static, scratch or alpine", final.from)
	}
	finalText := strings.Join(final.lines, "\n")
	var user string
	for _, l := range final.lines {
		if f := strings.Fields(l); strings.EqualFold(f[0], "USER") {
			user = f[1]
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" || uid != "65532" {
		t.Errorf("final stage USER %q, want the non-root %d of the manifests' runAsUser", user, nonRootUID)
	}
	if !regexp.MustCompile(`COPY --from=` + build.name + ` \S+ /usr/local/bin/runplan`).MatchString(finalText) {
		t.Errorf("final stage does not copy the binary from %s to /usr/local/bin/runplan:\n%s", build.name, finalText)
	}
	if !strings.Contains(finalText, `ENTRYPOINT ["/usr/local/bin/runplan"]`) {
		t.Errorf("final stage ENTRYPOINT is not runplan:\n%s", finalText)
	}
	if _, err := os.Stat("../../../../.dockerignore"); err != nil {
		t.Error(err)
	}
}
