package plan

import "testing"

// A driver's definition named like a core one (a driver called rate has
// $defs/rateTarget) does not get the core one's messages.
func TestInDef(t *testing.T) {
	t.Parallel()
	const base = "https://runplan.dev/schema/plan.schema.json#"
	tests := []struct {
		url, name string
		want      bool
	}{
		{base + "/$defs/duration/type", "duration", true},
		{base + "/$defs/rate", "rate", true},
		{base + "/$defs/rate/oneOf/0/type", "rate", true},
		{base + "/$defs/rateTarget/properties/x/type", "rate", false},
		{base + "/$defs/durationStep/type", "duration", false},
		{base + "/$defs/load/properties/vus/type", "duration", false},
	}
	for _, tt := range tests {
		if got := inDef(tt.url, tt.name); got != tt.want {
			t.Errorf("inDef(%q, %q) = %v, want %v", tt.url, tt.name, got, tt.want)
		}
	}
}
