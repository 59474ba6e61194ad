package plan

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/runplan/runplan/schema"
)

// testKinds stand for the registered drivers: plan loading is only told
// which step kinds exist, as engine.Check tells it from the registry.
var testKinds = []string{"redis", "webhook"}

// testSchema is the plan schema of testKinds, assembled from the drivers'
// fragments as the engine assembles it from the registry. The fragments
// are read as files: this package imports no driver.
var testSchema = func() *schema.PlanSchema {
	frags := map[string]schema.Fragment{}
	for _, name := range testKinds {
		data, err := os.ReadFile(filepath.Join("..", "..", "scenarios", name, "schema.json"))
		if err != nil {
			panic(err)
		}
		var f schema.Fragment
		if err := json.Unmarshal(data, &f); err != nil {
			panic(err)
		}
		frags[name] = f
	}
	doc, err := schema.Assemble(frags)
	if err != nil {
		panic(err)
	}
	s, err := schema.CompilePlan(doc)
	if err != nil {
		panic(err)
	}
	return s
}()
