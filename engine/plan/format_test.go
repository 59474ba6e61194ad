package plan

import (
	"strings"
	"testing"

	"github.com/runplan/runplan/schema"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	sch, err := schema.Core()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, want string
	}{
		{
			name: "order, indentation, durations, comments moving with their keys",
			in: `# yaml-language-server: $schema=../schema/plan.schema.json
name: t   # the name
version: 1
scenarios:
    # the reads
    reads:
        steps:
            - redis: [GET, "k:${HOME}"]
              name: get   # named
            - sleep: 1500ms   # think
        load: {duration: 60s, vus: 1}       # short

    # the writes
    writes:
        load:
            duration: 90s
            vus: 2
        steps: [{redis: [SET, k, v]}]
targets:
    cache: {url: "${REDIS_URL:-}", driver: redis}   # local
faults:
  - for: 3000ms
    # two minutes in
    at: 2m0s
    target: cache
    name: slow
    latency: {delay: 50ms}
# the end
`,
			want: `# yaml-language-server: $schema=../schema/plan.schema.json
version: 1
name: t   # the name
targets:
  cache: {driver: redis, url: "${REDIS_URL:-}"}   # local
scenarios:
  # the reads
  reads:
    load: {vus: 1, duration: 1m}        # short
    steps:
      - name: get   # named
        redis: [GET, "k:${HOME}"]
      - sleep: 1.5s     # think

  # the writes
  writes:
    load:
      vus: 2
      duration: 1m30s
    steps: [{redis: [SET, k, v]}]
faults:
  - name: slow
    target: cache
    # two minutes in
    at: 2m
    for: 3s
    latency: {delay: 50ms}
# the end
`,
		},
		{
			name: "anchors, merge keys, x- keys and text kept",
			in: `version: 1
x-defaults:
  load: &load {duration: 60s, vus: 2}
  check: &check {weight: 10, critical: true}
scenarios:
  writes:
    description: >-
      A long description that the author broke
      over two lines.
    load: {<<: *load, warmup: 1500ms}
    steps:
      - redis: [SET, k, v]
        x-note: |
          kept as written

          with its blank line
checks:
  - {expr: writes.success_rate > 0.99, <<: *check, name: ok}
`,
			want: `version: 1
x-defaults:
  load: &load {duration: 1m, vus: 2}
  check: &check {weight: 10, critical: true}
scenarios:
  writes:
    description: >-
      A long description that the author broke
      over two lines.
    load: {<<: *load, warmup: 1.5s}
    steps:
      - redis: [SET, k, v]
        x-note: |
          kept as written

          with its blank line
checks:
  - {<<: *check, name: ok, expr: writes.success_rate > 0.99}
`,
		},
		{
			name: "an alias would come before its anchor: the order is kept",
			in: `version: 1
checks:
  - &c {name: a, expr: s.count > 0}
scenarios:
  s: {load: {duration: 60s, vus: 1}, steps: [{sleep: 1s}], x-c: *c}
`,
			want: `version: 1
checks:
  - &c {name: a, expr: s.count > 0}
scenarios:
  s: {load: {duration: 1m, vus: 1}, steps: [{sleep: 1s}], x-c: *c}
`,
		},
		{
			name: "document start, items with comments and blank lines, foot comments",
			in: `---
# top comment

version: 1
description:
targets:
  cache:
    driver: redis   # d
    "url": 'redis://x:y@127.0.0.1:1'
scenarios:
  s:
    steps:
      # first
      - redis: [GET,
          k]

      # second
      - sleep: 100ms
      # trailing comment of steps
    load: {vus: 1, duration: 1s}
checks:
  - name: a
    expr: |
      s.count > 0 &&
        s.errors == 0
    # foot of check a

  - name: b
    expr: "s.count > 0"
`,
			want: `---
# top comment

version: 1
description:
targets:
  cache:
    driver: redis   # d
    "url": 'redis://x:y@127.0.0.1:1'
scenarios:
  s:
    load: {vus: 1, duration: 1s}
    steps:
      # first
      - redis: [GET, k]

      # second
      - sleep: 100ms
        # trailing comment of steps
checks:
  - name: a
    expr: |
      s.count > 0 &&
        s.errors == 0
    # foot of check a

  - name: b
    expr: "s.count > 0"
`,
		},
		{
			name: "CRLF line endings are kept",
			in:   "version: 1\r\nscenarios:\r\n    s: {load: {duration: 60s, vus: 1}}   # c\r\n",
			want: "version: 1\r\nscenarios:\r\n  s: {load: {vus: 1, duration: 1m}}    # c\r\n",
		},
		{
			name: "only durations the schema knows are rewritten",
			in: `version: 1
name: 60s
scenarios:
  s:
    load: {vus: 1, duration: "${D:-60s}"}
    steps: [{redis: [SET, k, 60s]}]
`,
			want: `version: 1
name: 60s
scenarios:
  s:
    load: {vus: 1, duration: "${D:-60s}"}
    steps: [{redis: [SET, k, 60s]}]
`,
		},
		{
			name: "YAML 1.1 booleans quoted, keys, quoted values and true left alone",
			in: `version: 1
targets:
  hook: {driver: webhook, sink: {rate_limit: off}, headers: {n: yes, X-On: 'on'}}
scenarios:
  s:
    load: {vus: 1, duration: 1s}
    steps:
      - webhook: {query: {wait: true, thread: N}, json: [y, No, "OFF", maybe]}
`,
			want: `version: 1
targets:
  hook: {driver: webhook, sink: {rate_limit: "off"}, headers: {n: "yes", X-On: 'on'}}
scenarios:
  s:
    load: {vus: 1, duration: 1s}
    steps:
      - webhook: {query: {wait: true, thread: "N"}, json: ["y", "No", "OFF", maybe]}
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Format("p.yaml", []byte(tc.in), sch)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			again, err := Format("p.yaml", got, sch)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Errorf("not idempotent; second pass:\n%s", again)
			}
		})
	}
}

func TestFormatRefuses(t *testing.T) {
	t.Parallel()
	sch, err := schema.Core()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"bad YAML", "version: 1\nscenarios:\n  s: [a\n", "p.yaml:"},
		{"two documents", "version: 1\n---\nversion: 1\n", "p.yaml:2:1: a plan file holds one YAML document"},
		{"not a mapping", "- a\n", "p.yaml: a plan is a YAML mapping"},
		{"empty", "", "p.yaml: the file is empty"},
		{"alias cycle", "a: &a [*a]\n", "p.yaml:1:"},
		{"fmt's own markers", "version: 1 #~fmt:blank~\n", `holds the text "~fmt:"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := Format("p.yaml", []byte(tc.in), sch)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestCommentColumn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		want int
	}{
		{"a: b # c", 5},
		{`a: "b # not" # c`, 13},
		{`a: 'it''s # no' # c`, 16},
		{"a: b#c", -1},
		{"# all", 0},
		{`a: [x, "y # z"]   # c`, 18},
	} {
		if got := commentColumn(tc.line); got != tc.want {
			t.Errorf("commentColumn(%q) = %d, want %d", tc.line, got, tc.want)
		}
	}
}
