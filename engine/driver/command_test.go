package driver

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
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

// TestCommandFlags: asked for, the usage is the command's output (stdout);
// after an error, it goes to stderr with the error.
func TestCommandFlags(t *testing.T) {
	t.Parallel()
	const usage = "Usage: runplan x [flags]\n\nFlags:\n  -quiet\n    \tsay less\n"
	tests := []struct {
		name           string
		args           []string
		after          func(fs *flag.FlagSet) // run after Parse
		wantErr        error
		stdout, stderr string
	}{
		{"--help", []string{"--help"}, nil, flag.ErrHelp, usage, ""},
		{"-h", []string{"-h"}, nil, flag.ErrHelp, usage, ""},
		{"a bad flag", []string{"--loud"}, nil, nil, "", "flag provided but not defined: -loud\n" + usage},
		{"usage after a message", nil, func(fs *flag.FlagSet) {
			fmt.Fprintln(fs.Output(), "runplan x: give a file")
			fs.Usage()
		}, nil, "", "runplan x: give a file\n" + usage},
		{"help after an error", []string{"--loud"}, func(fs *flag.FlagSet) {
			_ = fs.Parse([]string{"--help"})
		}, nil, usage, "flag provided but not defined: -loud\n" + usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			fs := CommandFlags("x", "runplan x [flags]", &stdout, &stderr)
			fs.Bool("quiet", false, "say less")
			err := fs.Parse(tt.args)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.args, err, tt.wantErr)
			}
			if tt.after != nil {
				tt.after(fs)
			}
			if stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", stdout.String(), stderr.String(), tt.stdout, tt.stderr)
			}
		})
	}
}
