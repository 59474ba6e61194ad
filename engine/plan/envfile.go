package plan

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/joho/godotenv"

	"github.com/runplan/runplan/engine/diag"
)

// EnvFiles returns a LookupEnv that finds a name in base first (the real
// environment wins, as with Docker Compose's --env-file), then in the
// dotenv files at paths, a later file overriding an earlier one. The files
// are read once, here; the LookupEnv returned only reads memory and is safe
// for concurrent use. base nil means os.LookupEnv.
//
// The format is godotenv's (Docker Compose's): KEY=VALUE lines, # comments,
// blank lines, an optional `export ` prefix, single-quoted values taken as
// written, double-quoted values with \n, \" and \\ escapes. A file that
// cannot be read is an error naming it; a malformed line is a
// diag.Diagnostics error at file:line, whose message never quotes the
// file's values (they are often secrets).
func EnvFiles(base LookupEnv, paths ...string) (LookupEnv, error) {
	if base == nil {
		base = os.LookupEnv
	}
	vars := map[string]string{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("plan: env file: %w", err)
		}
		m, err := parseDotenv(path, data)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			vars[k] = v
		}
	}
	return func(name string) (string, bool) {
		if v, ok := base(name); ok {
			return v, true
		}
		v, ok := vars[name]
		return v, ok
	}, nil
}

// parseDotenv parses one dotenv file. godotenv does not say where a
// problem is, and its messages quote the rest of the file: the line is
// found here as the one after the longest prefix of whole lines that
// parses, and the message is cut to its kind.
func parseDotenv(file string, data []byte) (map[string]string, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	m, err := godotenv.UnmarshalBytes(data)
	lines := bytes.SplitAfter(data, []byte("\n"))
	if err == nil {
		if badKey(m) == "" {
			return m, nil
		}
		// godotenv takes a last line without "=" as a value of no name, and
		// skips spaces inside a name: the first prefix that has such a
		// name ends with its line.
		for k := 1; k <= len(lines); k++ {
			if p, _ := godotenv.UnmarshalBytes(bytes.Join(lines[:k], nil)); p != nil && badKey(p) != "" {
				msg := "no variable name: write KEY=VALUE"
				if badKey(p) != "=" {
					msg = "invalid variable name: write KEY=VALUE, a name of letters, digits and _"
				}
				return nil, diag.Diagnostics{{File: file, Line: k, Col: 1, Msg: msg}}
			}
		}
		return m, nil
	}
	ok := 0
	for k := 1; k <= len(lines); k++ {
		if _, err := godotenv.UnmarshalBytes(bytes.Join(lines[:k], nil)); err == nil {
			ok = k
		}
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unterminated quoted value"):
		msg = "unterminated quoted value: a quote opened on this line is never closed"
	case strings.HasPrefix(msg, "unexpected character"):
		msg, _, _ = strings.Cut(msg, " near ")
		msg += ": write KEY=VALUE, a name of letters, digits and _"
	}
	line := min(ok+1, len(lines))
	return nil, diag.Diagnostics{{File: file, Line: line, Col: 1, Msg: msg}}
}

var dotenvName = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

// badKey returns a name of m that no ${NAME} could use: "=" for the empty
// name, else the name; "" when every name is good.
func badKey(m map[string]string) string {
	for k := range m {
		switch {
		case k == "":
			return "="
		case !dotenvName.MatchString(k):
			return k
		}
	}
	return ""
}
