package check

import "time"

func timeDur(f float64) time.Duration { return time.Duration(f) }
