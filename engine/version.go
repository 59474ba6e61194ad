package engine

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// DevVersion is Version in a build that names no version: neither the
// release build's ldflags nor the module's version (a `go build` outside a
// tagged module without VCS stamping).
const DevVersion = "0.1.0-dev"

// Version, Commit and Date describe the build. The release build
// (.goreleaser.yaml) sets them at link time:
//
//	-X github.com/runplan/runplan/engine.Version=1.2.3
//	-X github.com/runplan/runplan/engine.Commit=<full commit hash>
//	-X github.com/runplan/runplan/engine.Date=<RFC 3339 build time>
//
// Otherwise init fills Version from the module's version recorded by the
// go tool (`go install ...@v1.2.3`, or the pseudo-version of a build in a
// git checkout); Commit and Date stay empty and BuildInfo reads the VCS
// stamp instead. They are set before main runs and only read afterwards:
// safe for concurrent reads.
var (
	Version = DevVersion
	Commit  string
	Date    string
)

func init() {
	bi, _ := debug.ReadBuildInfo()
	Version = resolveBuild(Version, Commit, Date, bi).Version
}

// Build is what `runplan version` prints. Every field is empty when
// unknown, except Version.
type Build struct {
	Version string
	Commit  string // full hash
	// Date is the build time when the release build stamped it, otherwise
	// the commit time (DateSource says which).
	Date       string
	DateSource string // "build" or "commit"; empty with Date
	// Modified is true when the binary was built from a work tree with
	// uncommitted changes (VCS stamp only; a release build is never).
	Modified  bool
	GoVersion string
	Platform  string // GOOS/GOARCH
}

// BuildInfo returns the running binary's build facts: those set at link
// time, completed from runtime/debug.ReadBuildInfo.
func BuildInfo() Build {
	bi, _ := debug.ReadBuildInfo()
	b := resolveBuild(Version, Commit, Date, bi)
	b.Platform = runtime.GOOS + "/" + runtime.GOARCH
	return b
}

// resolveBuild combines the link-time values with the go tool's build
// information (nil when the binary has none). Link-time values win: the
// release build sets all three. A module version of "(devel)" or empty
// says nothing and leaves version as it is.
func resolveBuild(version, commit, date string, bi *debug.BuildInfo) Build {
	if commit == "none" {
		// GoReleaser's word for a commit it could not read (a snapshot in
		// a clone without a remote): the VCS stamp may know it.
		commit = ""
	}
	b := Build{Version: version, Commit: commit, Date: date}
	if date != "" {
		b.DateSource = "build"
	}
	if bi == nil {
		return b
	}
	b.GoVersion = bi.GoVersion
	if v := bi.Main.Version; version == DevVersion && v != "" && v != "(devel)" {
		b.Version = strings.TrimPrefix(v, "v")
	}
	if commit != "" {
		// A stamped release: the VCS settings of the build describe the
		// same commit; its modified flag is not the release's concern.
		return b
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			if b.Date == "" {
				b.Date, b.DateSource = s.Value, "commit"
			}
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the text of `runplan version`: the first line is
// "runplan VERSION", as it always was; the others say what is known.
func (b Build) String() string {
	var sb strings.Builder
	sb.WriteString("runplan " + b.Version + "\n")
	commit := b.Commit
	if commit == "" {
		commit = "unknown"
	}
	if b.Modified {
		commit += " (modified: built from a work tree with uncommitted changes)"
	}
	sb.WriteString("commit:  " + commit + "\n")
	switch b.DateSource {
	case "build":
		sb.WriteString("built:   " + b.Date + "\n")
	case "commit":
		sb.WriteString("built:   unknown (commit time " + b.Date + ")\n")
	default:
		sb.WriteString("built:   unknown\n")
	}
	if b.GoVersion != "" || b.Platform != "" {
		sb.WriteString("go:      " + strings.TrimSpace(b.GoVersion+" "+b.Platform) + "\n")
	}
	return sb.String()
}
