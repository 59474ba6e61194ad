package plan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/redact"
)

func writeEnvFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func noEnv(string) (string, bool) { return "", false }

func TestEnvFileParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       map[string]string
	}{
		{"plain", "A=1\nB=two\n", map[string]string{"A": "1", "B": "two"}},
		{"comments and blanks", "# a comment\n\nA=1\n   \n# B=2\n", map[string]string{"A": "1"}},
		{"export prefix", "export A=1\nexport  B=2", map[string]string{"A": "1", "B": "2"}},
		{"spaces around", "  A = 1  \n", map[string]string{"A": "1"}},
		{"inline comment", "A=1 # the pool\nB=x#y\n", map[string]string{"A": "1", "B": "x#y"}},
		{"empty value", "A=\nB=''\nC=\"\"\n", map[string]string{"A": "", "B": "", "C": ""}},
		{"single quotes are literal", `A='a\nb ${X} # c'`, map[string]string{"A": `a\nb ${X} # c`}},
		{"double quote escapes", `A="a\nb \"q\" c\\d"`, map[string]string{"A": "a\nb \"q\" c\\d"}},
		{"double quotes keep #", `A="x # y"`, map[string]string{"A": "x # y"}},
		{"multi-line double quotes", "A=\"l1\nl2\"\nB=3\n", map[string]string{"A": "l1\nl2", "B": "3"}},
		{"same-file expansion", "A=x\nB=${A}-$A\nC=\"$A\"\nD='$A'\nE=$UNDEFINED_HERE.\n", map[string]string{"B": "x-x", "C": "x", "D": "$A", "E": "."}},
		{"later line wins", "A=1\nA=2\n", map[string]string{"A": "2"}},
		{"crlf", "A=1\r\nB=2\r\n", map[string]string{"A": "1", "B": "2"}},
		{"byte order mark", "\uFEFFA=1\n", map[string]string{"A": "1"}},
		{"url value", "REDIS_URL=redis://:pw@127.0.0.1:7000/0\n", map[string]string{"REDIS_URL": "redis://:pw@127.0.0.1:7000/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := plan.EnvFiles(noEnv, writeEnvFile(t, ".env", tt.text))
			if err != nil {
				t.Fatalf("EnvFiles: %v", err)
			}
			for k, want := range tt.want {
				if got, ok := env(k); !ok || got != want {
					t.Errorf("%s = %q, %v; want %q", k, got, ok, want)
				}
			}
			if v, ok := env("NOT_IN_FILE"); ok {
				t.Errorf("NOT_IN_FILE = %q, want unset", v)
			}
		})
	}
}

func TestEnvFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		line       string // ":N:" expected after the file name
		msg        string
		secret     string // a value the message must not quote
	}{
		{"bad name", "A=1\nMY-VAR=2\nC=hunter2secret\n", ":2:1: ", `unexpected character "-" in variable name`, "hunter2secret"},
		{"no equals", "A=1\n\nJUSTANAME\nC=hunter2secret\n", ":3:1: ", "in variable name", "hunter2secret"},
		{"no equals on the last line", "A=1\nJUSTANAME", ":2:1: ", "no variable name", ""},
		{"space in name", "A=1\nMY VAR=hunter2secret\n", ":2:1: ", "invalid variable name", "hunter2secret"},
		{"no name", "A=1\n=hunter2secret\n", ":2:1: ", "no variable name", "hunter2secret"},
		{"unterminated", "A=1\n# c\nB=\"hunter2secret\nC=3\n", ":3:1: ", "unterminated quoted value", "hunter2secret"},
		{"unterminated after a multi-line value", "A=\"x\ny\"\nB='hunter2secret\n", ":3:1: ", "unterminated quoted value", "hunter2secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeEnvFile(t, "ci.env", tt.text)
			_, err := plan.EnvFiles(noEnv, path)
			if err == nil {
				t.Fatal("EnvFiles: no error")
			}
			if !strings.HasPrefix(err.Error(), path+tt.line) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want %s%s...%s", err, path, tt.line, tt.msg)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q quotes the file's value", err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "absent.env")
		_, err := plan.EnvFiles(noEnv, path)
		if err == nil || !strings.Contains(err.Error(), path) || !os.IsNotExist(unwrapAll(err)) {
			t.Errorf("error %v, want one naming %s that is not-exist", err, path)
		}
	})
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestEnvFilePrecedence(t *testing.T) {
	t.Parallel()
	first := writeEnvFile(t, "a.env", "A=from-a\nB=from-a\nC=from-a\n")
	second := writeEnvFile(t, "b.env", "B=from-b\nC=from-b\n")
	real := func(name string) (string, bool) {
		if name == "C" {
			return "from-env", true
		}
		return "", false
	}
	env, err := plan.EnvFiles(real, first, second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, want string }{
		{"A", "from-a"},   // only the first file
		{"B", "from-b"},   // a later file overrides an earlier one
		{"C", "from-env"}, // the real environment wins over every file
	} {
		if got, _ := env(tt.name); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A value from an env file is a secret as an environment value is: the
// plan's interpolation registers it with Options.Secrets.
func TestEnvFileValuesAreSecrets(t *testing.T) {
	t.Parallel()
	env, err := plan.EnvFiles(noEnv, writeEnvFile(t, ".env", "HOOK_TOKEN=s3cr3t-t0ken-value\nPOOL=12\n"))
	if err != nil {
		t.Fatal(err)
	}
	red := redact.New()
	src := `version: 1
description: "token ${HOOK_TOKEN}, pool ${POOL}"
scenarios:
  sc: {load: {vus: 1, iterations: 1}, steps: [{sleep: 1ms}]}
`
	p, diags := plan.ParseAll("plan.yaml", []byte(src), plan.Options{Env: env, Secrets: red})
	if p == nil || len(diags.Errors()) > 0 {
		t.Fatalf("plan not parsed: %v", diags)
	}
	if got := red.String("token s3cr3t-t0ken-value"); strings.Contains(got, "s3cr3t") {
		t.Errorf("masked = %q: the env file's value is not a secret", got)
	}
	if got := red.String("pool 12"); got != "pool 12" {
		t.Errorf("masked = %q: a number is never masked", got)
	}
}
