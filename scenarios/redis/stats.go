package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine/driver"
)

// INFO forms, tried in order until the server accepts one: the sections
// runplan reads (Redis 7+), all sections (older servers), the default
// sections (the embedded server).
const (
	infoSections int32 = iota
	infoAll
	infoPlain
)

var infoSectionNames = []string{"server", "clients", "memory", "stats", "replication", "keyspace", "commandstats", "errorstats"}

// ServerStats reads the server's INFO (server, clients, memory, stats,
// replication, keyspace, commandstats, errorstats) as raw figures: every
// numeric INFO field under its own name, plus
//
//	keys, expires                     summed over the keyspace's databases
//	cmdstat_<cmd>_calls, _usec, _failed_calls, _rejected_calls
//	cmdstat_calls, cmdstat_usec       summed over every command
//	errorstat_<ERR>                   error replies by prefix
//	replica_lag_max                   the largest lag of a connected replica, seconds
//	role_primary, master_link_up      1 or 0
//
// On a cluster every primary is read and the figures summed (ratios,
// percentages and maxima take the largest; "nodes" counts the primaries).
// The embedded server knows few fields (clients, connections, commands)
// and its key count comes from DBSIZE; the others are absent, never zero.
// The sampling's own INFO commands count in total_commands_processed. It is
// safe for concurrent use.
func (t *Target) ServerStats(ctx context.Context) (map[string]float64, error) {
	m, _, err := t.IdentifiedServerStats(ctx)
	return m, err
}

var _ driver.IdentifiedServerStatser = (*Target)(nil)

// IdentifiedServerStats is ServerStats plus which server answered: the
// run_id and role of the server read ("<run_id>/<role>"), or of every
// primary of a cluster (sorted, comma-separated); "" when the server does
// not say (the embedded one). A failover or a restart changes it.
func (t *Target) IdentifiedServerStats(ctx context.Context) (map[string]float64, string, error) {
	obs := t.observer()
	if cc, ok := obs.(*goredis.ClusterClient); ok {
		sum := map[string]float64{}
		var mu sync.Mutex
		var ids []string
		nodes := 0
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			m, id, err := t.info(ctx, c)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			mergeStats(sum, m)
			ids = append(ids, id)
			nodes++
			return nil
		})
		if err != nil {
			return nil, "", t.scrub(fmt.Errorf("redis: target %q: INFO: %w", t.name, err))
		}
		sum["nodes"] = float64(nodes)
		slices.Sort(ids)
		id := strings.Join(ids, ",")
		if slices.Contains(ids, "") {
			id = ""
		}
		return sum, id, nil
	}
	m, id, err := t.info(ctx, obs)
	if err != nil {
		return nil, "", t.scrub(fmt.Errorf("redis: target %q: INFO: %w", t.name, err))
	}
	if _, ok := m["keys"]; !ok && t.mini != nil {
		n, err := obs.DBSize(ctx).Result()
		if err != nil {
			return nil, "", fmt.Errorf("redis: target %q: DBSIZE: %w", t.name, err)
		}
		m["keys"] = float64(n)
	}
	return m, id, nil
}

// info reads and parses one server's INFO, falling back to the older forms
// when the server refuses the newer; it returns the figures and the
// server's identity (serverIdentity).
func (t *Target) info(ctx context.Context, c goredis.UniversalClient) (map[string]float64, string, error) {
	for {
		mode := t.infoMode.Load()
		var cmd *goredis.StringCmd
		switch mode {
		case infoSections:
			cmd = c.Info(ctx, infoSectionNames...)
		case infoAll:
			cmd = c.Info(ctx, "all")
		default:
			cmd = c.Info(ctx)
		}
		txt, err := cmd.Result()
		if err == nil {
			return parseInfo(txt), serverIdentity(txt), nil
		}
		if _, isReply := errors.AsType[goredis.Error](err); !isReply || mode == infoPlain {
			return nil, "", err
		}
		t.infoMode.CompareAndSwap(mode, mode+1)
	}
}

// serverIdentity is "<run_id>/<role>" from an INFO reply: another process
// (a restart, a failover to another server) or the same one in another role
// gives another identity; "" when INFO has no run_id.
func serverIdentity(txt string) string {
	var id, role string
	for line := range strings.SplitSeq(txt, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		switch {
		case !ok:
		case k == "run_id":
			id = v
		case k == "role":
			role = v
		}
	}
	if id == "" {
		return ""
	}
	return id + "/" + role
}

// notFigures are numeric-looking INFO fields that are identifiers.
var notFigures = map[string]bool{
	"run_id": true, "master_replid": true, "master_replid2": true, "redis_git_sha1": true,
	"redis_git_dirty": true, "redis_build_id": true, "process_id": true, "tcp_port": true,
	"arch_bits": true, "atomicvar_api": true, "gcc_version": true, "executable": true, "config_file": true,
	"master_port": true, "server_time_usec": true,
}

// parseInfo turns an INFO reply into raw figures (see ServerStats).
func parseInfo(txt string) map[string]float64 {
	out := map[string]float64{}
	for line := range strings.SplitSeq(txt, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || notFigures[k] {
			continue
		}
		switch {
		case isDBLine(k):
			fields := subFields(v)
			out["keys"] += fields["keys"]
			out["expires"] += fields["expires"]
		case strings.HasPrefix(k, "cmdstat_"):
			fields := subFields(v)
			for _, f := range []string{"calls", "usec", "failed_calls", "rejected_calls"} {
				if x, ok := fields[f]; ok {
					out[k+"_"+f] = x
				}
			}
			out["cmdstat_calls"] += fields["calls"]
			out["cmdstat_usec"] += fields["usec"]
		case strings.HasPrefix(k, "errorstat_"):
			out[k] = subFields(v)["count"]
		case isReplicaLine(k):
			fields := subFields(v)
			if lag, ok := fields["lag"]; ok {
				out["replica_lag_max"] = max(out["replica_lag_max"], lag)
			}
		case k == "role":
			out["role_primary"] = boolFigure(v == "master")
		case k == "master_link_status":
			out["master_link_up"] = boolFigure(v == "up")
		default:
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				out[k] = f
			}
		}
	}
	return out
}

func boolFigure(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// isDBLine reports whether k is a keyspace line's key, db0, db1, ...
func isDBLine(k string) bool { return len(k) > 2 && k[:2] == "db" && allDigits(k[2:]) }

// isReplicaLine reports whether k is a replication line's key, slave0, ...
func isReplicaLine(k string) bool { return len(k) > 5 && k[:5] == "slave" && allDigits(k[5:]) }

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// subFields parses "a=1,b=2,ip=x" into its numeric fields.
func subFields(v string) map[string]float64 {
	out := map[string]float64{}
	for f := range strings.SplitSeq(v, ",") {
		k, x, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		if n, err := strconv.ParseFloat(x, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// mergeStats adds one primary's figures into a cluster's sum; ratios,
// percentages, maxima and per-process settings take the largest value.
func mergeStats(sum, m map[string]float64) {
	for k, v := range m {
		old, seen := sum[k]
		switch {
		case !seen:
			sum[k] = v
		case takesMax(k):
			sum[k] = max(old, v)
		default:
			sum[k] = old + v
		}
	}
}

func takesMax(k string) bool {
	for _, s := range []string{"_ratio", "_perc", "_per_call", "_max", "_seconds", "_days", "hz", "_clock", "_primary", "_up"} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return k == "io_threads_active" || k == "cluster_enabled"
}

// ServerMetrics lists the figures of `<target>.server.*`, derived from the
// samples of ServerStats. A figure whose raw fields the server does not
// report (the embedded server lacks most), or whose counter went backwards
// (a restart, a failover to another process), is unavailable. It is safe
// for concurrent use.
func (Driver) ServerMetrics() []driver.ServerMetric { return serverMetrics }

var serverMetrics = []driver.ServerMetric{
	{Name: "hit_ratio", Help: "server-side hit ratio: keyspace hits / (hits + misses) during the run", Compute: hitRatio},
	{Name: "keyspace_hits", Help: "key lookups that found the key, during the run", Compute: delta("keyspace_hits")},
	{Name: "keyspace_misses", Help: "key lookups that did not find the key, during the run", Compute: delta("keyspace_misses")},
	{Name: "evicted_keys", Help: "keys evicted by maxmemory during the run", Compute: delta("evicted_keys")},
	{Name: "expired_keys", Help: "keys expired during the run", Compute: delta("expired_keys")},
	{Name: "commands", Help: "commands processed during the run (total_commands_processed)", Compute: delta("total_commands_processed")},
	{Name: "ops_per_sec", Help: "commands processed per second during the run", Compute: perSecond("total_commands_processed")},
	{Name: "usec_per_call", Help: "mean server-side time of a command during the run, in microseconds (commandstats)", Unit: "us", Compute: ratioOfDeltas("cmdstat_usec", "cmdstat_calls")},
	{Name: "error_replies", Help: "error replies sent during the run (total_error_replies)", Compute: delta("total_error_replies")},
	{Name: "rejected_connections", Help: "connections refused for maxclients during the run", Compute: delta("rejected_connections")},
	{Name: "connections_received", Help: "connections accepted during the run", Compute: delta("total_connections_received")},
	{Name: "connected_clients", Help: "client connections at the end", Compute: last("connected_clients")},
	{Name: "connected_clients_peak", Help: "most client connections seen in a sample", Compute: peak("connected_clients")},
	{Name: "blocked_clients_peak", Help: "most clients blocked in a blocking command seen in a sample", Compute: peak("blocked_clients")},
	{Name: "used_memory", Help: "memory used by the data set and the server at the end, bytes", Compute: last("used_memory")},
	{Name: "used_memory_peak", Help: "the most memory used in a sample, bytes", Compute: peak("used_memory")},
	{Name: "used_memory_growth", Help: "memory used at the end minus at the start, bytes", Compute: growth("used_memory")},
	{Name: "keys", Help: "keys in the keyspace at the end (all databases)", Compute: last("keys")},
	{Name: "keys_growth", Help: "keys at the end minus at the start", Compute: growth("keys")},
	{Name: "bytes_per_key", Help: "memory per key at the end: (used_memory - used_memory_startup) / keys", Compute: bytesPerKey},
	{Name: "allocator_frag_ratio", Help: "allocator fragmentation at the end: allocator_active / allocator_allocated", Compute: lastRatio("allocator_active", "allocator_allocated")},
	{Name: "mem_fragmentation_ratio", Help: "RSS over used memory at the end: used_memory_rss / used_memory", Compute: lastRatio("used_memory_rss", "used_memory")},
	{Name: "net_input_bytes", Help: "bytes received by the server during the run", Compute: delta("total_net_input_bytes")},
	{Name: "net_output_bytes", Help: "bytes sent by the server during the run", Compute: delta("total_net_output_bytes")},
	{Name: "connected_replicas", Help: "replicas connected to the primary at the end (summed over cluster primaries)", Compute: last("connected_slaves")},
	{Name: "replica_lag_max", Help: "the largest replica lag seen in a sample, seconds", Unit: "s", Compute: peak("replica_lag_max")},
	{Name: "maxmemory", Help: "the maxmemory setting, bytes (0: no limit)", Compute: last("maxmemory")},
}

type computeFunc = func(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool)

func delta(name string) computeFunc {
	return func(first, last, _ map[string]float64, _ time.Duration) (float64, bool) {
		a, ok1 := first[name]
		b, ok2 := last[name]
		if !ok1 || !ok2 || b < a {
			return 0, false
		}
		return b - a, true
	}
}

func growth(name string) computeFunc {
	return func(first, last, _ map[string]float64, _ time.Duration) (float64, bool) {
		a, ok1 := first[name]
		b, ok2 := last[name]
		return b - a, ok1 && ok2
	}
}

func perSecond(name string) computeFunc {
	d := delta(name)
	return func(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool) {
		v, ok := d(first, last, peak, elapsed)
		if !ok || elapsed <= 0 {
			return 0, false
		}
		return v / elapsed.Seconds(), true
	}
}

func ratioOfDeltas(num, den string) computeFunc {
	dn, dd := delta(num), delta(den)
	return func(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool) {
		n, ok1 := dn(first, last, peak, elapsed)
		d, ok2 := dd(first, last, peak, elapsed)
		if !ok1 || !ok2 || d == 0 {
			return 0, false
		}
		return n / d, true
	}
}

func hitRatio(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool) {
	h, ok1 := delta("keyspace_hits")(first, last, peak, elapsed)
	m, ok2 := delta("keyspace_misses")(first, last, peak, elapsed)
	if !ok1 || !ok2 || h+m == 0 {
		return 0, false
	}
	return h / (h + m), true
}

func last(name string) computeFunc {
	return func(_, last, _ map[string]float64, _ time.Duration) (float64, bool) {
		v, ok := last[name]
		return v, ok
	}
}

func peak(name string) computeFunc {
	return func(_, _, peak map[string]float64, _ time.Duration) (float64, bool) {
		v, ok := peak[name]
		return v, ok
	}
}

func lastRatio(num, den string) computeFunc {
	return func(_, last, _ map[string]float64, _ time.Duration) (float64, bool) {
		n, ok1 := last[num]
		d, ok2 := last[den]
		if !ok1 || !ok2 || d == 0 {
			return 0, false
		}
		return n / d, true
	}
}

func bytesPerKey(_, last, _ map[string]float64, _ time.Duration) (float64, bool) {
	used, ok1 := last["used_memory"]
	startup, ok2 := last["used_memory_startup"]
	keys, ok3 := last["keys"]
	if !ok1 || !ok2 || !ok3 || keys == 0 {
		return 0, false
	}
	return (used - startup) / keys, true
}
