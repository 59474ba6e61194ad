package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/runplan/runplan/engine/driver"
	_ "github.com/runplan/runplan/scenarios/all"
)

// schema/plan.schema.json is what `runplan schema` prints for the drivers
// runplan ships: generated, never edited by hand.
func TestPlanSchemaIsGenerated(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := Main([]string{"schema"}, &out, &errOut); code != ExitOK {
		t.Fatalf("runplan schema: exit %d: %s", code, errOut.String())
	}
	file := filepath.Join("..", "..", "..", "schema", "plan.schema.json")
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("%s differs from what `runplan schema` prints: run `go generate ./...` and commit the file", file)
	}
}

// The printed schema carries every registered driver's target options,
// step kind and fault kinds.
func TestPlanSchemaHasEveryDriver(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := Main([]string{"schema"}, &out, &errOut); code != ExitOK {
		t.Fatalf("runplan schema: exit %d: %s", code, errOut.String())
	}
	type props struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var doc struct {
		Defs struct {
			Target struct {
				AllOf []json.RawMessage `json:"allOf"`
			} `json:"target"`
			Step  props `json:"step"`
			Fault props `json:"fault"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var defs struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(out.Bytes(), &defs); err != nil {
		t.Fatal(err)
	}
	names := driver.Drivers()
	if len(names) == 0 {
		t.Fatal("no driver registered")
	}
	for _, name := range names {
		d, err := driver.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		f := d.Schema()
		if _, ok := doc.Defs.Step.Properties[name]; !ok {
			t.Errorf("driver %s: no step kind %s", name, name)
		}
		if f.Target != nil {
			if _, ok := defs.Defs[name+"Target"]; !ok {
				t.Errorf("driver %s: no $defs/%sTarget", name, name)
			}
			cond := fmt.Sprintf(`{"if":{"properties":{"driver":{"const":%q}}},"then":{"$ref":"#/$defs/%sTarget"}}`, name, name)
			found := false
			for _, c := range doc.Defs.Target.AllOf {
				var b bytes.Buffer
				if json.Compact(&b, c) == nil && b.String() == cond {
					found = true
				}
			}
			if !found {
				t.Errorf("driver %s: targets are not checked against its options", name)
			}
		}
		for kind := range f.Faults {
			if _, ok := doc.Defs.Fault.Properties[kind]; !ok {
				t.Errorf("driver %s: no fault kind %s", name, kind)
			}
		}
		for def := range f.Defs {
			if _, ok := defs.Defs[def]; !ok {
				t.Errorf("driver %s: no $defs/%s", name, def)
			}
		}
	}
}
