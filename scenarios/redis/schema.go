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

// schemaFragment is schemaJSON, decoded once.
var schemaFragment = driver.MustParseSchemaFragment("redis", schemaJSON)

// Schema returns the driver's part of the plan schema. Safe for concurrent
// use.
func (Driver) Schema() driver.SchemaFragment { return schemaFragment }
