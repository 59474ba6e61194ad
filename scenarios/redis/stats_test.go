package redis

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

const sampleInfo = "# Server\r\nredis_version:7.0.15\r\nprocess_id:42\r\nrun_id:1234567890abcdef\r\ntcp_port:6379\r\nuptime_in_seconds:100\r\n" +
	"# Clients\r\nconnected_clients:51\r\nblocked_clients:0\r\n" +
	"# Memory\r\nused_memory:2000000\r\nused_memory_human:1.91M\r\nused_memory_startup:900000\r\nallocator_allocated:2100000\r\nallocator_active:2520000\r\nmem_fragmentation_ratio:2.5\r\nmaxmemory_policy:noeviction\r\n" +
	"# Stats\r\ntotal_commands_processed:1000\r\nkeyspace_hits:90\r\nkeyspace_misses:10\r\nevicted_keys:0\r\ntotal_error_replies:2\r\n" +
	"# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=7001,state=online,offset=100,lag=0\r\nslave1:ip=127.0.0.1,port=7002,state=online,offset=90,lag=3\r\nmaster_replid:abc\r\n" +
	"# Commandstats\r\ncmdstat_get:calls=100,usec=150,usec_per_call=1.50,rejected_calls=0,failed_calls=1\r\ncmdstat_set:calls=50,usec=100,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n" +
	"# Errorstats\r\nerrorstat_WRONGTYPE:count=2\r\n" +
	"# Keyspace\r\ndb0:keys=1000,expires=10,avg_ttl=5\r\ndb3:keys=100,expires=0,avg_ttl=0\r\n"

func TestParseInfo(t *testing.T) {
	t.Parallel()
	got := parseInfo(sampleInfo)
	want := map[string]float64{
		"uptime_in_seconds": 100, "connected_clients": 51, "blocked_clients": 0,
		"used_memory": 2000000, "used_memory_startup": 900000, "allocator_allocated": 2100000, "allocator_active": 2520000,
		"mem_fragmentation_ratio": 2.5, "total_commands_processed": 1000, "keyspace_hits": 90, "keyspace_misses": 10,
		"evicted_keys": 0, "total_error_replies": 2, "role_primary": 1, "connected_slaves": 2, "replica_lag_max": 3,
		"cmdstat_get_calls": 100, "cmdstat_get_usec": 150, "cmdstat_get_failed_calls": 1, "cmdstat_get_rejected_calls": 0,
		"cmdstat_set_calls": 50, "cmdstat_set_usec": 100, "cmdstat_set_failed_calls": 0, "cmdstat_set_rejected_calls": 0,
		"cmdstat_calls": 150, "cmdstat_usec": 250, "errorstat_WRONGTYPE": 2, "keys": 1100, "expires": 10,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for _, k := range []string{"redis_version", "process_id", "run_id", "tcp_port", "used_memory_human", "maxmemory_policy", "master_replid", "role"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s should not be a figure", k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d figures, want %d: %v", len(got), len(want), got)
	}
}

func TestMergeStats(t *testing.T) {
	t.Parallel()
	sum := map[string]float64{}
	mergeStats(sum, map[string]float64{"keys": 10, "mem_fragmentation_ratio": 1.5, "replica_lag_max": 2, "uptime_in_seconds": 50, "role_primary": 1})
	mergeStats(sum, map[string]float64{"keys": 5, "mem_fragmentation_ratio": 1.2, "replica_lag_max": 7, "uptime_in_seconds": 70, "role_primary": 1, "expires": 1})
	want := map[string]float64{"keys": 15, "mem_fragmentation_ratio": 1.5, "replica_lag_max": 7, "uptime_in_seconds": 70, "role_primary": 1, "expires": 1}
	for k, v := range want {
		if sum[k] != v {
			t.Errorf("%s = %v, want %v", k, sum[k], v)
		}
	}
}

// metric returns the named server metric.
func metric(t *testing.T, name string) driver.ServerMetric {
	t.Helper()
	for _, m := range (Driver{}).ServerMetrics() {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no server metric %q", name)
	return driver.ServerMetric{}
}

func TestServerMetrics(t *testing.T) {
	t.Parallel()
	first := map[string]float64{"keyspace_hits": 100, "keyspace_misses": 50, "total_commands_processed": 1000,
		"used_memory": 1_000_000, "keys": 10, "cmdstat_usec": 100, "cmdstat_calls": 100, "evicted_keys": 7}
	last := map[string]float64{"keyspace_hits": 190, "keyspace_misses": 60, "total_commands_processed": 21000,
		"used_memory": 3_000_000, "used_memory_startup": 1_000_000, "keys": 1010, "cmdstat_usec": 2100, "cmdstat_calls": 1100,
		"allocator_active": 1200, "allocator_allocated": 1000, "connected_clients": 3, "evicted_keys": 2, "used_memory_rss": 6_000_000}
	peak := map[string]float64{"connected_clients": 60, "used_memory": 3_500_000}
	tests := []struct {
		name string
		want float64 // NaN: unavailable
	}{
		{"hit_ratio", 0.9},
		{"keyspace_hits", 90},
		{"keyspace_misses", 10},
		{"commands", 20000},
		{"ops_per_sec", 2000},
		{"usec_per_call", 2},
		{"used_memory_growth", 2_000_000},
		{"used_memory_peak", 3_500_000},
		{"keys", 1010},
		{"keys_growth", 1000},
		{"bytes_per_key", 2_000_000.0 / 1010},
		{"allocator_frag_ratio", 1.2},
		{"mem_fragmentation_ratio", 2},
		{"connected_clients", 3},
		{"connected_clients_peak", 60},
		{"evicted_keys", math.NaN()}, // went backwards: a restart
		{"expired_keys", math.NaN()}, // not reported
		{"replica_lag_max", math.NaN()},
	}
	for _, tc := range tests {
		v, ok := metric(t, tc.name).Compute(first, last, peak, 10*time.Second)
		switch {
		case math.IsNaN(tc.want) && ok:
			t.Errorf("%s = %v, want unavailable", tc.name, v)
		case !math.IsNaN(tc.want) && (!ok || math.Abs(v-tc.want) > 1e-9):
			t.Errorf("%s = %v (ok %v), want %v", tc.name, v, ok, tc.want)
		}
	}
	// No lookups: no hit ratio rather than 0 or NaN.
	if _, ok := metric(t, "hit_ratio").Compute(first, first, peak, time.Second); ok {
		t.Error("hit_ratio available without lookups")
	}
	if _, ok := metric(t, "ops_per_sec").Compute(first, last, peak, 0); ok {
		t.Error("ops_per_sec available over no time")
	}
	seen := map[string]bool{}
	for _, m := range (Driver{}).ServerMetrics() {
		if seen[m.Name] || m.Help == "" || m.Compute == nil {
			t.Errorf("metric %q: duplicate, or without help or compute", m.Name)
		}
		seen[m.Name] = true
	}
}

// TestServerStatsLive samples real servers around a workload whose effect
// is known, and derives the metrics as the engine does.
func TestServerStatsLive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		yaml  string
		avail []string // metrics that must be available
		unav  []string // metrics that must be unavailable
	}{
		{"external", "", []string{"hit_ratio", "keyspace_hits", "ops_per_sec", "usec_per_call", "used_memory", "bytes_per_key",
			"allocator_frag_ratio", "connected_clients_peak", "keys", "evicted_keys", "expired_keys", "net_input_bytes"},
			[]string{"replica_lag_max"}},
		{"embedded", "-", []string{"commands", "ops_per_sec", "connected_clients", "connected_clients_peak", "keys", "keys_growth", "connections_received"},
			[]string{"hit_ratio", "keyspace_hits", "used_memory", "bytes_per_key", "allocator_frag_ratio", "evicted_keys", "usec_per_call", "replica_lag_max"}},
		{"managed cluster", "managed: {topology: cluster, primaries: 3}\n", []string{"hit_ratio", "used_memory", "keys", "bytes_per_key"}, nil},
		{"managed replicas", "managed: {replicas: 1}\n", []string{"hit_ratio", "connected_replicas", "replica_lag_max"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tg *Target
			switch tc.yaml {
			case "":
				tg = openTarget(t, redistest.Start(t).URL(), "")
			case "-":
				tg = openTarget(t, "", "")
			default:
				tg = openTarget(t, "", tc.yaml)
			}
			ctx := context.Background()
			first, err := tg.ServerStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			it := newIter(1)
			get := bind(t, tg, `{cache_get: {key: "k:{{ seq(10) }}", on_miss: {value_size: 100}}}`)
			for n := range int64(100) { // 10 misses, 90 hits
				mustDo(t, get, it, n)
			}
			last, err := tg.ServerStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			peak := map[string]float64{}
			for _, m := range []map[string]float64{first, last} {
				for k, v := range m {
					peak[k] = max(peak[k], v)
				}
			}
			for _, name := range tc.avail {
				if _, ok := metric(t, name).Compute(first, last, peak, time.Second); !ok {
					t.Errorf("%s unavailable", name)
				}
			}
			for _, name := range tc.unav {
				if v, ok := metric(t, name).Compute(first, last, peak, time.Second); ok {
					t.Errorf("%s = %v, want unavailable", name, v)
				}
			}
			if tc.yaml != "-" {
				if v, _ := metric(t, "hit_ratio").Compute(first, last, peak, time.Second); v != 0.9 {
					t.Errorf("hit_ratio = %v, want 0.9", v)
				}
			}
			if v, _ := metric(t, "keys_growth").Compute(first, last, peak, time.Second); v != 10 {
				t.Errorf("keys_growth = %v, want 10", v)
			}
			if tg.cluster != nil && last["nodes"] != 3 {
				t.Errorf("nodes = %v, want 3 primaries", last["nodes"])
			}
		})
	}
}

// The server's identity is its run id and role: a restart or a failover to
// another process changes the first, a demotion the second.
func TestServerIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, info, want string }{
		{"primary", sampleInfo, "1234567890abcdef/master"},
		{"demoted", "run_id:1234567890abcdef\r\nrole:slave\r\n", "1234567890abcdef/slave"},
		{"restarted", "# Server\r\nrun_id:fedcba0987654321\r\n# Replication\r\nrole:master\r\n", "fedcba0987654321/master"},
		{"embedded: no run id", "# Clients\r\nconnected_clients:1\r\n", ""},
	}
	for _, tt := range tests {
		if got := serverIdentity(tt.info); got != tt.want {
			t.Errorf("%s: identity %q, want %q", tt.name, got, tt.want)
		}
	}
}
