package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/plan"
)

// fmtCmd writes plans in their canonical form (plan.Format), in place; with
// --check it writes nothing, lists the files that would change and exits
// 1 when there are any. A file that does not parse is refused (exit 2) and
// left as it is; the other files are still formatted.
func fmtCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("fmt", "runplan fmt [--check] PLAN...", stdout, stderr)
	check := fs.Bool("check", false, "write nothing: list the files that are not formatted and exit 1 when there are any")
	var maxSize plan.Size
	fs.Var(&maxSize, "max-plan-size", maxPlanSizeUsage)
	pos, code, ok := parseArgs(fs, args, -1, "give at least one plan file", stderr)
	if !ok {
		return code
	}
	sch, err := engine.PlanSchema()
	if err != nil {
		fmt.Fprintf(stderr, "runplan: %v\n", err)
		return ExitInternal
	}
	limit := int64(maxSize)
	if limit <= 0 {
		limit = plan.DefaultMaxSize
	}
	code = ExitOK
	for _, path := range pos {
		src, err := readLimited(path, limit)
		if err != nil {
			fmt.Fprintln(stderr, "runplan fmt:", err)
			code = ExitUsage
			continue
		}
		out, err := plan.Format(path, src, sch)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = ExitUsage
			continue
		}
		if bytes.Equal(out, src) {
			continue
		}
		if *check {
			fmt.Fprintln(stdout, path)
			if code == ExitOK {
				code = ExitChecks
			}
			continue
		}
		if err := writeInPlace(path, out); err != nil {
			fmt.Fprintln(stderr, "runplan fmt:", err)
			code = ExitRuntime
			continue
		}
		fmt.Fprintln(stdout, path)
	}
	return code
}

// readLimited reads the file at path, refusing one larger than limit.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes (--max-plan-size)", path, limit)
	}
	return b, nil
}

// writeInPlace replaces the file at path with data atomically (a
// temporary file in the same directory, renamed over it), keeping its
// mode.
func writeInPlace(path string, data []byte) (err error) {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), st.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
