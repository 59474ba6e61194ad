package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
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
	for _, name := range driver.Drivers() {
		d, err := driver.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		f := d.Schema()
		want := []string{`"` + name + `": {`}
		if f.Target != nil {
			want = append(want, `"`+name+`Target": {`, `"const": "`+name+`"`)
		}
		if f.Step != nil {
			want = append(want, `"$ref": "#/$defs/`+name+`Step"`)
		}
		for kind := range f.Faults {
			want = append(want, `"`+kind+`": {`)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("driver %s: the schema lacks %s", name, w)
			}
		}
	}
}
