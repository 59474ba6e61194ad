package driver

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestRegisterCommand(t *testing.T) {
	run := func(context.Context, []string, io.Writer, io.Writer) int { return ExitOK }
	RegisterCommand(Command{Name: "zz-test", Synopsis: "zz-test", Summary: "a test", Run: run})
	RegisterCommand(Command{Name: "aa-test", Synopsis: "aa-test", Summary: "a test", Run: run})
	if c, ok := LookupCommand("zz-test"); !ok || c.Summary != "a test" {
		t.Fatalf("LookupCommand = %+v, %v", c, ok)
	}
	if _, ok := LookupCommand("nope"); ok {
		t.Fatal("LookupCommand found an unregistered command")
	}
	var names []string
	for _, c := range Commands() {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, " "); got != "aa-test zz-test" {
		t.Fatalf("Commands = %s, want sorted", got)
	}
	for _, c := range []Command{{Name: "zz-test", Run: run}, {Name: "", Run: run}, {Name: "no-run"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterCommand(%q) did not panic", c.Name)
				}
			}()
			RegisterCommand(c)
		}()
	}
}

func TestCommandFlags(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	fs := CommandFlags("x", "runplan x [flags]", &stderr)
	fs.Bool("quiet", false, "say less")
	if err := fs.Parse([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(--help) = %v", err)
	}
	if want := "Usage: runplan x [flags]\n\nFlags:\n  -quiet\n    \tsay less\n"; stderr.String() != want {
		t.Fatalf("usage %q, want %q", stderr.String(), want)
	}
}
