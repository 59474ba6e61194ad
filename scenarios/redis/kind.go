package redis

import (
	"fmt"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/managed"
)

var _ driver.KindPlanner = (*Config)(nil)

// PlannedKind says, without I/O, what kind of target Open gives: a target
// without url, sentinel, cluster or managed is started locally (which
// server depends on local_server and, for auto, on the PATH at run time),
// a managed one is a deployment runplan starts, anything else is external.
// It is safe for concurrent use.
func (c *Config) PlannedKind() (kind, note string) {
	switch c.cfg.mode {
	case modeEmbedded:
		switch c.cfg.localServer {
		case localRedisServer:
			return driver.KindManaged, "a redis-server started for the run"
		case localMiniredis:
			return driver.KindEmbedded, "the in-process miniredis (its figures are not Redis measurements)"
		}
		return driver.KindEmbedded, "a redis-server started for the run, or the in-process miniredis when none is installed"
	case modeManaged:
		if c.cfg.managed == nil {
			return driver.KindManaged, ""
		}
		m := *c.cfg.managed
		if m.Primaries == 0 {
			m.Primaries = managed.DefaultPrimaries
		}
		if m.Sentinels == 0 {
			m.Sentinels = managed.DefaultSentinels
		}
		if m.Topology == managed.Sentinel && m.Replicas == 0 {
			m.Replicas = 1
		}
		switch m.Topology {
		case managed.Cluster:
			return driver.KindManaged, fmt.Sprintf("a cluster of %d primaries (%d replicas each) started for the run", m.Primaries, m.Replicas)
		case managed.Sentinel:
			return driver.KindManaged, fmt.Sprintf("a primary, %d replicas and %d sentinels started for the run", m.Replicas, m.Sentinels)
		}
		if m.Replicas > 0 {
			return driver.KindManaged, fmt.Sprintf("a standalone redis-server with %d replicas started for the run", m.Replicas)
		}
		return driver.KindManaged, "a standalone redis-server started for the run"
	case modeSentinel:
		return driver.KindExternal, "found through sentinels"
	case modeCluster:
		return driver.KindExternal, "a Redis Cluster"
	}
	return driver.KindExternal, ""
}
