//go:build linux

package engine

import "os"

// readHost samples the host's load average and CPU time counters.
func readHost() hostSample {
	la, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return hostSample{}
	}
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostSample{}
	}
	load, ok1 := parseLoadavg(string(la))
	total, idle, steal, ok2 := parseStat(string(st))
	if !ok1 || !ok2 {
		return hostSample{}
	}
	return hostSample{OK: true, Load1: load, Total: total, Idle: idle, Steal: steal}
}
