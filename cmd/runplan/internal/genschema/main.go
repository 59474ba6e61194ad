// Command genschema writes what `runplan schema` prints — the plan schema
// assembled from the fragments of the drivers runplan ships — to the file
// named by its argument; with -fragment, the plan fragment schema derived
// from it (schema.PlanFragment). `go generate ./...` runs it for
// schema/plan.schema.json and schema/fragment.schema.json (see the
// directives in package schema).
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/runplan/runplan/cmd/runplan/cli"
	_ "github.com/runplan/runplan/scenarios/all" // the drivers runplan ships, as in cmd/runplan
	"github.com/runplan/runplan/schema"
)

func main() {
	args := os.Args[1:]
	fragment := len(args) == 2 && args[0] == "-fragment"
	if fragment {
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: genschema [-fragment] FILE")
		os.Exit(2)
	}
	var out bytes.Buffer
	if code := cli.Main([]string{"schema"}, &out, os.Stderr); code != cli.ExitOK {
		os.Exit(code)
	}
	doc := out.Bytes()
	if fragment {
		var err error
		if doc, err = schema.PlanFragment(doc); err != nil {
			fmt.Fprintln(os.Stderr, "genschema:", err)
			os.Exit(1)
		}
	}
	if err := os.WriteFile(args[0], doc, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}
