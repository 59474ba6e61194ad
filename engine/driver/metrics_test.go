package driver

import (
	"strings"
	"testing"
)

func TestCheckStepMetrics(t *testing.T) {
	t.Parallel()
	counters := func(n int) []StepMetric {
		var ms []StepMetric
		for i := range n {
			ms = append(ms, StepMetric{Name: "c" + string(rune('a'+i)), Kind: Counter})
		}
		return ms
	}
	tests := []struct {
		name string
		ms   []StepMetric
		want string // "" when valid
	}{
		{"none", nil, ""},
		{"counters, a ratio and a duration", []StepMetric{{Name: "hits", Kind: Counter}, {Name: "misses", Kind: Counter},
			{Name: "hit_ratio", Kind: Ratio, Numerator: "hits", Denominator: []string{"hits", "misses"}}, {Name: "wait", Kind: Duration}}, ""},
		{"as many slots as there are", append(counters(MaxCounters), StepMetric{Name: "r", Kind: Ratio, Numerator: "ca", Denominator: []string{"cb"}}), ""},
		{"too many slots", counters(MaxCounters + 1), "at most 8"},
		{"bad name", []StepMetric{{Name: "Hits", Kind: Counter}}, "lower case"},
		{"reserved name", []StepMetric{{Name: "count", Kind: Counter}}, "engine's own"},
		{"twice", []StepMetric{{Name: "x", Kind: Counter}, {Name: "x", Kind: Duration}}, "declared twice"},
		{"no kind", []StepMetric{{Name: "x"}}, "unknown kind"},
		{"ratio over a duration", []StepMetric{{Name: "w", Kind: Duration}, {Name: "r", Kind: Ratio, Numerator: "w", Denominator: []string{"w"}}}, `"w" is not a declared counter`},
		{"ratio without denominator", []StepMetric{{Name: "c", Kind: Counter}, {Name: "r", Kind: Ratio, Numerator: "c"}}, "no denominator"},
		{"counter with a numerator", []StepMetric{{Name: "c", Kind: Counter, Numerator: "c"}}, "only a ratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckStepMetrics(tt.ms)
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckStepMetrics = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSlotSkipsRatios(t *testing.T) {
	t.Parallel()
	ms := []StepMetric{{Name: "a", Kind: Counter}, {Name: "r", Kind: Ratio, Numerator: "a", Denominator: []string{"a"}}, {Name: "d", Kind: Duration}}
	for name, want := range map[string]int{"a": 0, "r": -1, "d": 1, "x": -1} {
		if got := Slot(ms, name); got != want {
			t.Errorf("Slot(%s) = %d, want %d", name, got, want)
		}
	}
}

func TestMetricKindString(t *testing.T) {
	t.Parallel()
	for _, k := range []MetricKind{Counter, Ratio, Duration} {
		back, err := ParseMetricKind(k.String())
		if err != nil || back != k {
			t.Errorf("%v: parsed back as %v, %v", k, back, err)
		}
	}
	if _, err := ParseMetricKind("gauge"); err == nil {
		t.Error("gauge parsed")
	}
}
