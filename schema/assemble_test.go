package schema

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func frag(target, step string, faults map[string]string, defs map[string]string) Fragment {
	f := Fragment{Faults: map[string]json.RawMessage{}, Defs: map[string]json.RawMessage{}}
	if target != "" {
		f.Target = json.RawMessage(target)
	}
	if step != "" {
		f.Step = json.RawMessage(step)
	}
	for k, v := range faults {
		f.Faults[k] = json.RawMessage(v)
	}
	for k, v := range defs {
		f.Defs[k] = json.RawMessage(v)
	}
	return f
}

// Assemble refuses fragments that would collide with the core or with each
// other, or that are not JSON.
func TestAssembleRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frags map[string]Fragment
		want  string
	}{
		{"a bad driver name", map[string]Fragment{"Kafka": {}}, `driver name "Kafka"`},
		{"a step field as driver name", map[string]Fragment{"weight": {}}, "step field of the core"},
		{"a def not named after the driver", map[string]Fragment{"kafka": frag("", "", nil, map[string]string{"topic": `{}`})}, "$defs/topic"},
		{"a def named like another's", map[string]Fragment{"kafka": frag("", "", nil, map[string]string{"kafkaTarget": `{}`})}, "$defs/kafkaTarget"},
		{"a def of the core", map[string]Fragment{"net": frag("", "", nil, map[string]string{"netStream": `{}`})}, "$defs/netStream is defined twice"},
		{"a network fault kind", map[string]Fragment{"kafka": frag("", "", map[string]string{"latency": `{}`}, nil)}, `fault kind "latency"`},
		{"a fault key of the core", map[string]Fragment{"kafka": frag("", "", map[string]string{"target": `{}`}, nil)}, `fault kind "target"`},
		{"a target that is not JSON", map[string]Fragment{"kafka": frag(`{"type":`, "", nil, nil)}, "$defs/kafkaTarget is not valid JSON"},
		{"a fault that is not JSON", map[string]Fragment{"kafka": frag("", "", map[string]string{"lag": `{`}, nil)}, "fault kind lag is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Assemble(tt.frags)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

// The assembled document depends only on the fragments, adds each
// driver's parts where the core names drivers, and compiles.
func TestAssemble(t *testing.T) {
	t.Parallel()
	frags := map[string]Fragment{
		"kafka": frag(`{"type":"object","properties":{"driver":true,"brokers":{"$ref":"#/$defs/kafkaBrokers"}}}`, `{"type":"object"}`,
			map[string]string{"lag": `{"description":"kafka lag"}`}, map[string]string{"kafkaBrokers": `{"type":"array"}`}),
		"amqp": frag("", "", map[string]string{"lag": `{"description":"amqp lag"}`}, nil),
	}
	doc, err := Assemble(frags)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := Assemble(frags)
		if err != nil || !bytes.Equal(doc, again) {
			t.Fatalf("a second assembly differs (%v)", err)
		}
	}
	if _, err := CompilePlan(doc); err != nil {
		t.Fatalf("the assembled schema does not compile: %v", err)
	}
	var got struct {
		Defs map[string]struct {
			Description string                     `json:"description"`
			AllOf       []map[string]any           `json:"allOf"`
			Properties  map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Defs["kafkaBrokers"]; !ok {
		t.Error("no $defs/kafkaBrokers")
	}
	if n := len(got.Defs["target"].AllOf); n != 1 {
		t.Errorf("%d conditions on the target's driver, want 1 (amqp declares no target)", n)
	}
	if s := string(got.Defs["step"].Properties["amqp"]); s != "true" {
		t.Errorf("step kind amqp: %s, want true", s)
	}
	if s := string(got.Defs["step"].Properties["kafka"]); !strings.Contains(s, "#/$defs/kafkaStep") {
		t.Errorf("step kind kafka: %s", s)
	}
	if s := string(got.Defs["fault"].Properties["lag"]); !strings.Contains(s, "anyOf") || strings.Index(s, "amqp") > strings.Index(s, "kafka") {
		t.Errorf("a fault kind of two drivers: %s, want anyOf, amqp's first", s)
	}
	if d := got.Defs["step"].Description; !strings.Contains(d, "(amqp, kafka, sleep,") {
		t.Errorf("step description %q does not name the drivers", d)
	}
	if !bytes.HasSuffix(doc, []byte("}\n")) || !bytes.HasPrefix(doc, []byte("{\n  \"$schema\"")) {
		t.Errorf("not indented like the core, starting with $schema:\n%.80s", doc)
	}
}

// The core alone is a schema: a plan's targets and steps are then free.
func TestCore(t *testing.T) {
	t.Parallel()
	s, err := Core()
	if err != nil {
		t.Fatal(err)
	}
	var plan any
	if err := json.Unmarshal([]byte(`{"version":1,"targets":{"k":{"driver":"kafka","brokers":["a:1"]}},"scenarios":{"sc":{"load":{"vus":1,"duration":"1s"},"steps":[{"kafka":{"topic":"t"}}]}}}`), &plan); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(plan); err != nil {
		t.Errorf("the core refused a plan of an unknown driver: %v", err)
	}
	if err := s.Validate(map[string]any{"version": 2.0}); err == nil {
		t.Error("the core accepted version 2 without scenarios")
	}
}
