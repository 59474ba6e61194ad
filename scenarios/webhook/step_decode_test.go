package webhook

import (
	"errors"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

// TestPrepareStepMessages decodes broken steps and expects, as the driver
// sees them when no schema stood before it, and checks every message and
// its position: the wording is the one the driver had before it decoded
// through engine/decode.
func TestPrepareStepMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		step, expect string
		want         []string
	}{
		{step: "5", want: []string{`2:1: webhook: webhook step must be a mapping, not "5"`}},
		{step: "{jsn: {content: a}}", want: []string{`2:2: webhook: unknown key "jsn" in webhook step; did you mean "json"?`}},
		{step: "{zzzzzzz: 1}", want: []string{`2:2: webhook: unknown key "zzzzzzz" in webhook step (known: json, body, method, query, headers, timeout)`}},
		{step: "{method: POST, method: PUT, json: {}}", want: []string{`2:16: webhook: webhook step: duplicate key "method" (first at line 2)`}},
		{step: "{json: {}, [x]: x}", want: []string{`2:12: webhook: webhook step: keys must be strings`}},
		{step: "{json: {content: a}, body: x}", want: []string{`2:22: webhook: give json or body, not both`}},
		{step: "{body: x, json: {content: a}}", want: []string{`2:11: webhook: give json or body, not both`}},
		{step: "{body: {a: 1}}", want: []string{`2:8: webhook: body must be a string (use json for structured bodies)`}},
		{step: "{json: {}, method: {}}", want: []string{`2:20: webhook: method must be a string`}},
		{step: `{json: {}, method: "P T"}`, want: []string{`2:20: webhook: "P T" is not an HTTP method`}},
		{step: "{json: {}, query: 5}", want: []string{`2:19: webhook: query must be a mapping, not "5"`}},
		{step: "{json: {}, query: {a: [1], b: , c: 1}}", want: []string{
			`2:23: webhook: query a must be a string, a number or a boolean`,
			`2:31: webhook: query b must be a string, a number or a boolean`}},
		{step: "{json: {}, query: {a: 1, a: 2}}", want: []string{`2:26: webhook: query: duplicate key "a" (first at line 2)`}},
		{step: `{json: {}, headers: {"a b": 1}}`, want: []string{`2:22: webhook: "a b" is not a valid header name`}},
		{step: `{json: {}, headers: {X-A: "a\nb"}}`, want: []string{`2:27: webhook: header X-A: the value holds a line break or NUL`}},
		{step: "{json: {}, timeout: abc}", want: []string{`2:21: webhook: timeout "abc" is not a positive duration such as 500ms or 10s`}},
		{step: "{json: {}, timeout: 0}", want: []string{`2:21: webhook: timeout "0" is not a positive duration such as 500ms or 10s`}},
		{step: "{json: {}, timeout: 5}", want: []string{`2:21: webhook: timeout must be a duration such as 500ms or 10s`}},
		{step: "{json: {}}", expect: "~", want: []string{`3:1: webhook: expect must be a mapping, not null`}},
		{step: "{json: {}}", expect: "{stats: 204}", want: []string{`3:2: webhook: unknown key "stats" in expect; did you mean "status"?`}},
		{step: "{json: {}}", expect: "{status: 204, status: 200}", want: []string{`3:15: webhook: expect: duplicate key "status" (first at line 3)`}},
		{step: "{json: {}}", expect: "{status: []}", want: []string{`3:10: webhook: expect status: the list is empty`}},
		{step: "{json: {}}", expect: "{status: [99, {}]}", want: []string{
			`3:11: webhook: expect status: "99" is not an HTTP status (100 to 599) nor a class such as 2xx`,
			`3:15: webhook: expect status: a mapping is not an HTTP status (100 to 599) nor a class such as 2xx`}},
	}
	for _, tt := range tests {
		t.Run(tt.step+" "+tt.expect, func(t *testing.T) {
			t.Parallel()
			var n, e yaml.Node
			if err := yaml.Unmarshal([]byte("\n"+tt.step), &n); err != nil {
				t.Fatal(err)
			}
			spec := driver.StepSpec{Name: "x", Node: n.Content[0], Templates: tmpl.NewCompiler()}
			if tt.expect != "" {
				if err := yaml.Unmarshal([]byte("\n\n"+tt.expect), &e); err != nil {
					t.Fatal(err)
				}
				spec.Expect = e.Content[0]
			}
			_, err := prepareStep(spec)
			var got []string
			for _, err := range flatten(err) {
				var pe *diag.Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %v has no position", err)
				}
				got = append(got, fmtPos(pe))
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestPrepareStepOptions checks what a valid step decodes to.
func TestPrepareStepOptions(t *testing.T) {
	t.Parallel()
	var n, e yaml.Node
	if err := yaml.Unmarshal([]byte("{json: {}, method: put, query: {b: 2, a: 1}, headers: {X-B: y, X-A: x}, timeout: 2s}"), &n); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte("{status: [2xx, 404]}"), &e); err != nil {
		t.Fatal(err)
	}
	st, err := prepareStep(driver.StepSpec{Name: "x", Node: n.Content[0], Expect: e.Content[0], Templates: tmpl.NewCompiler()})
	if err != nil {
		t.Fatal(err)
	}
	if st.method != "PUT" || st.timeout.String() != "2s" || st.expText != "2xx or 404" || len(st.expect) != 2 {
		t.Errorf("method %s, timeout %v, expect %v %q", st.method, st.timeout, st.expect, st.expText)
	}
	// The parameters keep the order they were written in.
	if len(st.query) != 2 || st.query[0].name != "b" || st.query[1].name != "a" {
		t.Errorf("query %v, want b then a", st.query)
	}
	if len(st.headers) != 2 || st.headers[0].name != "X-B" || st.headers[1].name != "X-A" {
		t.Errorf("headers %v, want X-B then X-A", st.headers)
	}
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
