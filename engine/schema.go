package engine

import (
	"fmt"
	"strings"
	"sync"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/schema"
)

var (
	planSchemaMu sync.Mutex
	// planSchemas caches the assembled schema per set of registered
	// drivers (their names, joined): drivers register once and their
	// fragments never change, so the set names the schema.
	planSchemas = map[string]*schema.PlanSchema{}
)

// PlanSchema returns the plan schema of the registered drivers: the core
// with every driver's fragment (driver.SchemaFragment), assembled by
// schema.Assemble and compiled. It is what Load and Check validate plans
// with and what `runplan schema` prints (PlanSchema().JSON()). Safe for
// concurrent use; built once per set of registered drivers.
func PlanSchema() (*schema.PlanSchema, error) {
	planSchemaMu.Lock()
	defer planSchemaMu.Unlock()
	key := strings.Join(driver.Drivers(), ",")
	if s, ok := planSchemas[key]; ok {
		return s, nil
	}
	frags := map[string]schema.Fragment{}
	for name, f := range driver.SchemaFragments() {
		frags[name] = schema.Fragment(f)
	}
	doc, err := schema.Assemble(frags)
	if err != nil {
		return nil, fmt.Errorf("engine: plan schema: %w", err)
	}
	s, err := schema.CompilePlan(doc)
	if err != nil {
		return nil, fmt.Errorf("engine: plan schema: %w", err)
	}
	planSchemas[key] = s
	return s, nil
}
