package managed

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// minFailoverTimeout is the least failover-timeout the sentinels get. A
// sentinel learns that the replica it promoted took the primary's role from
// that replica's INFO, which it reads once a second during a failover, and
// aborts the failover (for good, when it was forced with SENTINEL
// FAILOVER) if that takes longer than failover-timeout: twice a short
// node_timeout would race that one-second poll, and lose it on a busy
// machine. A longer timeout costs nothing when the failover goes well.
const minFailoverTimeout = 10 * time.Second

// failoverTimeout is the sentinels' failover-timeout for a node timeout:
// twice it, and at least minFailoverTimeout.
func failoverTimeout(node time.Duration) time.Duration { return max(2*node, minFailoverTimeout) }

// sentinelConf renders a sentinel's configuration file. Sentinels rewrite
// it, so it lives in the sentinel's own directory.
func (d *Deployment) sentinelConf(port, primary int, dir string) string {
	var b strings.Builder
	line := func(k string, vs ...string) {
		b.WriteString(k)
		for _, v := range vs {
			b.WriteByte(' ')
			b.WriteString(quote(v))
		}
		b.WriteByte('\n')
	}
	name := d.cfg.MasterName
	line("bind", "127.0.0.1")
	if d.certs != nil {
		line("port", "0")
		line("tls-port", strconv.Itoa(port))
		d.tlsConf(line)
		line("tls-replication", "yes")
	} else {
		line("port", strconv.Itoa(port))
	}
	line("daemonize", "no")
	line("dir", dir)
	line("sentinel", "resolve-hostnames", "no")
	line("sentinel", "monitor", name, "127.0.0.1", strconv.Itoa(primary), strconv.Itoa(d.cfg.Sentinels/2+1))
	ms := strconv.FormatInt(d.cfg.NodeTimeout.Milliseconds(), 10)
	line("sentinel", "down-after-milliseconds", name, ms)
	line("sentinel", "failover-timeout", name, strconv.FormatInt(failoverTimeout(d.cfg.NodeTimeout).Milliseconds(), 10))
	line("sentinel", "parallel-syncs", name, "1")
	if d.cfg.Password != "" {
		line("sentinel", "auth-pass", name, d.cfg.Password)
	}
	return b.String()
}

// startSentinels starts the sentinels once the primary and its replicas are
// linked, and waits until every sentinel knows the primary and all of its
// replicas, each with its link to the primary up (sentinels learn the
// replicas from the primary's INFO, which they read as soon as they
// connect, then read each replica's). A failover can then be made at once.
func (d *Deployment) startSentinels(ctx context.Context, bin string) error {
	primary := d.server(&d.primaries, 0)
	return parallel(d.cfg.Sentinels, func(i int) error {
		name := fmt.Sprintf("sentinel-%d", i)
		dir := filepath.Join(d.dir, name)
		sp := d.spec(bin, RoleSentinel, name, func(port int) string {
			return d.sentinelConf(port, primary.Port(), dir)
		}, false)
		sp.sentinel, sp.args, sp.password = true, nil, ""
		s, err := startProcess(ctx, sp)
		if err != nil {
			return err
		}
		d.add(&d.sentinels, s)
		want := strconv.Itoa(d.cfg.Replicas)
		return poll(ctx, s, "the sentinel to know the primary and its replicas", func(ctx context.Context) (bool, error) {
			c := goredis.NewSentinelClient(s.options())
			defer c.Close()
			m, err := c.Master(ctx, d.cfg.MasterName).Result()
			if err != nil {
				return false, err
			}
			if m["port"] != strconv.Itoa(primary.Port()) || m["num-slaves"] != want || strings.Contains(m["flags"], "down") {
				return false, nil
			}
			// The sentinel must have read each replica's own INFO too, or it
			// would find no replica good enough to promote in a failover.
			replicas, err := c.Replicas(ctx, d.cfg.MasterName).Result()
			if err != nil {
				return false, err
			}
			for _, r := range replicas {
				if r["flags"] != "slave" || r["master-link-status"] != "ok" {
					return false, nil
				}
			}
			return true, nil
		})
	})
}
