package engine

import (
	"strconv"
	"strings"
)

// hostSample is the host's load and CPU time counters at one moment, read
// from /proc on Linux (host_linux.go); OK is false where the system does
// not say (other systems, or /proc unreadable). Plain data.
type hostSample struct {
	OK bool
	// Load1 is the one-minute load average.
	Load1 float64
	// Total, Idle and Steal are the host's CPU time counters summed over
	// its CPUs (/proc/stat's "cpu" line, in ticks): Idle includes iowait.
	Total, Idle, Steal uint64
}

// hostView is the host over a run: how busy its CPUs were, how much time
// the hypervisor stole, and the load average at the end.
type hostView struct {
	OK bool
	// Busy and Steal are shares of the host's CPU time over the run (0..1).
	Busy, Steal float64
	Load1       float64
	Cores       int
}

// hostOver compares two samples; unknown when either is.
func hostOver(before, after hostSample, cores int) hostView {
	if !before.OK || !after.OK || after.Total <= before.Total || cores <= 0 {
		return hostView{Cores: cores}
	}
	total := float64(after.Total - before.Total)
	idle := float64(after.Idle - before.Idle)
	steal := float64(after.Steal - before.Steal)
	return hostView{OK: true, Busy: max(0, (total-idle-steal)/total), Steal: steal / total, Load1: after.Load1, Cores: cores}
}

// parseLoadavg reads /proc/loadavg's first field.
func parseLoadavg(s string) (float64, bool) {
	f := strings.Fields(s)
	if len(f) < 1 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// parseStat reads /proc/stat's aggregate "cpu" line: user nice system idle
// iowait irq softirq steal (guest time is already in user).
func parseStat(s string) (total, idle, steal uint64, ok bool) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		var v [8]uint64
		for i := 0; i < 8 && i+1 < len(f); i++ {
			n, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return 0, 0, 0, false
			}
			v[i] = n
		}
		for _, n := range v {
			total += n
		}
		return total, v[3] + v[4], v[7], true
	}
	return 0, 0, 0, false
}
