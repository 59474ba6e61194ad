package driver

import (
	"fmt"
	"strings"
	"testing"
)

func TestMustParseSchemaFragment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		data  string
		panic string // "" when it decodes
	}{
		{"fragment", `{"target": {"type": "object"}, "faults": {"stall": {}}}`, ""},
		{"not JSON", `{"target": `, "queue: schema.json: driver: schema fragment"},
		{"wrong shape", `{"faults": []}`, "queue: schema.json:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			func() {
				defer func() {
					if r := recover(); r != nil {
						got = fmt.Sprint(r)
					}
				}()
				f := MustParseSchemaFragment("queue", []byte(tt.data))
				if string(f.Target) != `{"type": "object"}` || len(f.Faults) != 1 {
					t.Errorf("fragment %+v", f)
				}
			}()
			if tt.panic == "" && got != "" || !strings.HasPrefix(got, tt.panic) {
				t.Errorf("panic %q, want one starting %q", got, tt.panic)
			}
		})
	}
}
