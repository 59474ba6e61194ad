// Package all links every driver runplan ships into a program: importing it
// for its side effects registers them all with engine/driver, as database/sql
// drivers register themselves.
//
//	import _ "github.com/runplan/runplan/scenarios/all"
//
// It is the one import site of the drivers: cmd/runplan and the tests that
// need the real drivers import it, so adding a driver is one new package
// under scenarios/ and one line here. It exports nothing.
package all

import (
	_ "github.com/runplan/runplan/scenarios/redis"   // driver "redis"
	_ "github.com/runplan/runplan/scenarios/webhook" // driver "webhook"
)
