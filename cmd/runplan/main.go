// Command runplan validates a YAML plan, runs it against Redis and webhook
// targets, and prints a scored report. See README.md for the exit codes.
package main

import (
	"os"

	"github.com/runplan/runplan/cmd/runplan/cli"
	// Drivers register themselves, like database/sql drivers.
	_ "github.com/runplan/runplan/scenarios/redis"
	_ "github.com/runplan/runplan/scenarios/webhook"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
