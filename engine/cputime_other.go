//go:build !unix && !windows

package engine

import "time"

// cpuTime knows nothing of the process's CPU time here: the report then
// says runplan's CPU use is unknown.
func cpuTime() (d time.Duration, ok bool) { return 0, false }
