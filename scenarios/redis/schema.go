package redis

import (
	_ "embed"

	"github.com/runplan/runplan/engine/driver"
)

// schemaJSON is the driver's part of the plan schema: its target options,
// its step and its fault kinds (driver.SchemaFragment).
//
//go:embed schema.json
var schemaJSON []byte

// schemaFragment is schemaJSON, decoded once; a fragment that does not
// decode is a bug of the build, caught by every test of the package.
var schemaFragment = func() driver.SchemaFragment {
	f, err := driver.ParseSchemaFragment(schemaJSON)
	if err != nil {
		panic("redis: schema.json: " + err.Error())
	}
	return f
}()

// Schema returns the driver's part of the plan schema. Safe for concurrent
// use.
func (Driver) Schema() driver.SchemaFragment { return schemaFragment }
