// Command genschema writes what `runplan schema` prints — the plan schema
// assembled from the fragments of the drivers runplan ships — to the file
// named by its argument. `go generate ./...` runs it for
// schema/plan.schema.json (see the directive in package schema).
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/runplan/runplan/cmd/runplan/cli"
	_ "github.com/runplan/runplan/scenarios/all" // the drivers runplan ships, as in cmd/runplan
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genschema FILE")
		os.Exit(2)
	}
	var out bytes.Buffer
	if code := cli.Main([]string{"schema"}, &out, os.Stderr); code != cli.ExitOK {
		os.Exit(code)
	}
	if err := os.WriteFile(os.Args[1], out.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}
