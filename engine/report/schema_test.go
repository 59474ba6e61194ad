package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runplan/runplan/schema"
)

// sampleHint says how to refresh a real report of testdata/ from a plan.
func sampleHint(plan, file string) string {
	return "regenerate it with: go build -o /tmp/rp ./cmd/runplan && /tmp/rp run plans/" + plan +
		" --out engine/report/testdata/" + file + " --no-progress"
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func marshal(t *testing.T, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReportsValidateAgainstSchema validates a real report (made by the
// binary from plans/quick.yaml), the synthetic report Build makes (with
// faults, partial credit and an errored check),
// JSON with fault windows, and reports with every optional part empty.
func TestReportsValidateAgainstSchema(t *testing.T) {
	t.Parallel()
	_, err := schema.Report()
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile(filepath.Join("testdata", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	sampleFaults, err := os.ReadFile(filepath.Join("testdata", "sample-faults.json"))
	if err != nil {
		t.Fatal(err)
	}
	fixtureFile, err := os.ReadFile(filepath.Join("testdata", "fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	unscored := buildFixture(fixtureOptions{})
	unscored.Checks, unscored.Score, unscored.Verdict, unscored.VerdictCapped = []Check{}, nil, "unscored", false
	unscored.Recommendations = []string{}
	unscored.Targets = nil
	unscored.Generator.Lag = nil
	failed := buildFixture(fixtureOptions{})
	failed.Partial, failed.Error, failed.Valid = true, "engine: target cache: dial tcp: connection refused", false
	failed.Generator.Reasons = []string{"scheduling lag p99 15ms is above 10ms"}
	failed.Scenarios[1] = Scenario{Name: "signal_delivery", Model: "open", Steps: []Step{},
		Stats: Stats{ErrorsBy: map[string]int64{}, LatencyBasis: "service", Series: []Point{}}}

	tests := []struct {
		name string
		doc  []byte
	}{
		{"real report from plans/quick.yaml", sample},
		{"real report with a fault from plans/signal-delivery.yaml", sampleFaults},
		{"synthetic report from Build", marshal(t, buildFixture(fixtureOptions{}))},
		{"committed fixture.json", fixtureFile},
		{"unscored, no targets, no open model", marshal(t, unscored)},
		{"partial, invalid, a scenario that never started", marshal(t, failed)},
		{"invalid verdict", marshal(t, buildFixture(fixtureOptions{invalid: true}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := ValidateJSON(decodeJSON(t, tt.doc)); err != nil {
				t.Errorf("does not validate against schema/report.schema.json:\n%v", err)
			}
		})
	}
}

// TestSchemaRejects checks that the schema is strict enough to catch a
// report that drifted from the model.
func TestSchemaRejects(t *testing.T) {
	t.Parallel()
	_, err := schema.Report()
	if err != nil {
		t.Fatal(err)
	}
	base := marshal(t, buildFixture(fixtureOptions{}))
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   string
	}{
		{"missing verdict", func(m map[string]any) { delete(m, "verdict") }, "verdict"},
		{"unknown verdict", func(m map[string]any) { m["verdict"] = "fine" }, "verdict"},
		{"unknown top-level field", func(m map[string]any) { m["extra"] = 1 }, "extra"},
		{"score out of range", func(m map[string]any) { m["score"] = 101 }, "score"},
		{"score as a string", func(m map[string]any) { m["score"] = "75" }, "score"},
		{"newer report version", func(m map[string]any) { m["report_version"] = 2 }, "report_version"},
		{"bad start time", func(m map[string]any) { m["started_at"] = "yesterday" }, "started_at"},
		{"histogram not HdrHistogram base64", func(m map[string]any) {
			m["scenarios"].([]any)[0].(map[string]any)["histogram"] = "not a histogram"
		}, "histogram"},
		{"unknown step field", func(m map[string]any) {
			m["scenarios"].([]any)[0].(map[string]any)["steps"].([]any)[0].(map[string]any)["p99"] = 1
		}, "p99"},
		{"step field not a figure", func(m map[string]any) {
			m["scenarios"].([]any)[0].(map[string]any)["steps"].([]any)[0].(map[string]any)["p99"] = "fast"
		}, "p99"},
		{"counter not a whole number", func(m map[string]any) {
			m["scenarios"].([]any)[0].(map[string]any)["steps"].([]any)[0].(map[string]any)["hits"] = 1.5
		}, "hits"},
		{"series point without latency", func(m map[string]any) {
			delete(m["scenarios"].([]any)[0].(map[string]any)["series"].([]any)[0].(map[string]any), "latency_ms")
		}, "latency_ms"},
		{"check value as an object", func(m map[string]any) {
			m["checks"].([]any)[0].(map[string]any)["value"] = map[string]any{"p99": 1}
		}, "value"},
		{"fault without end", func(m map[string]any) {
			m["faults"] = []any{map[string]any{"name": "x", "start": 1}}
		}, "end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m map[string]any
			if err := json.Unmarshal(base, &m); err != nil {
				t.Fatal(err)
			}
			tt.mutate(m)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			// Against the schema with the fixture's step metrics declared,
			// as the binary validates with its drivers' declarations.
			err = schema.ValidateReportWith(decodeJSON(t, b), schemaMetrics(fixtureMetrics))
			if err == nil {
				t.Fatal("validated; want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not name %q:\n%v", tt.want, err)
			}
		})
	}
}

// TestSampleMatchesModel round-trips the real sample and the committed
// fixture through the model: a field the model gained or lost since they
// were made shows up here, so they stay in sync with report.go.
func TestSampleMatchesModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, hint string
	}{
		{"sample.json", sampleHint("quick.yaml", "sample.json")},
		{"sample-faults.json", sampleHint("signal-delivery.yaml", "sample-faults.json")},
		{"fixture.json", "regenerate it with: go test ./engine/report -update"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var r Report
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(marshal(t, &r), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("testdata/%s no longer matches the report model; %s\n%s", tt.file, tt.hint, mapDiff("", want, got))
			}
		})
	}
}

// TestFixtureInSync keeps testdata/fixture.json equal to what the
// fixture builds today.
func TestFixtureInSync(t *testing.T) {
	t.Parallel()
	golden(t, "fixture.json", fixtureJSON(t))
}

// mapDiff names the first keys that differ.
func mapDiff(path string, want, got any) string {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if !wok || !gok {
		wl, wlok := want.([]any)
		gl, glok := got.([]any)
		if wlok && glok && len(wl) == len(gl) {
			for i := range wl {
				if d := mapDiff(path+"["+jsonKey(i)+"]", wl[i], gl[i]); d != "" {
					return d
				}
			}
			return ""
		}
		if !reflect.DeepEqual(want, got) {
			return path + ": file has " + short1(want) + ", model writes " + short1(got)
		}
		return ""
	}
	var out []string
	for k, v := range wm {
		if _, ok := gm[k]; !ok {
			out = append(out, path+"."+k+": in the file, not in the model")
			continue
		}
		if d := mapDiff(path+"."+k, v, gm[k]); d != "" {
			out = append(out, d)
		}
	}
	for k := range gm {
		if _, ok := wm[k]; !ok {
			out = append(out, path+"."+k+": in the model, not in the file")
		}
	}
	if len(out) > 5 {
		out = out[:5]
	}
	return strings.Join(out, "\n")
}

func jsonKey(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func short1(v any) string {
	b, _ := json.Marshal(v)
	return clip(string(b))
}
