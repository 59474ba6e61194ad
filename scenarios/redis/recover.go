package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/journal"
)

// Recover restores, on the servers raw names, what run runID left in its
// journal (`runplan cleanup`): it lifts a pause still running (over a
// monitor connection under PAUSE ALL, see pauseGuard), sets every changed
// setting back to its original value — unless someone changed it again
// since, which it reports and leaves alone — and deletes the run's keys.
// It deletes keys only under a namespace that names runID, so that it can
// never touch keys the run did not write. Every connection is direct and
// uses raw's credentials and TLS. It returns what it completed; the error
// joins what it could not, and never holds a password. Safe for concurrent
// use.
func (Driver) Recover(ctx context.Context, raw, runID string, entries []journal.Entry) (driver.RecoverResult, error) {
	var res driver.RecoverResult
	u, err := parseCleanupURL(raw)
	if err != nil {
		return res, err
	}
	secrets := secrets(raw)
	if u.opts.Password != "" {
		secrets = append(secrets, u.opts.Password)
	}
	if u.sentPass != "" {
		secrets = append(secrets, u.sentPass)
	}
	// Pauses first (the other commands would wait behind them), keys last.
	order := map[string]int{journal.KindPause: 0, journal.KindSetting: 1, journal.KindKeys: 2}
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b journal.Entry) int { return cmp.Compare(order[a.Kind], order[b.Kind]) })
	var errs []error
	for _, e := range sorted {
		note, n, err := u.recover(ctx, runID, e)
		if err != nil {
			errs = append(errs, scrub(fmt.Errorf("%s: %w", e, err), secrets))
			continue
		}
		res.Done = append(res.Done, e)
		res.Notes = append(res.Notes, note)
		res.KeysRemoved += n
	}
	return res, errors.Join(errs...)
}

// recover undoes one entry and says what it did.
func (u *cleanupURL) recover(ctx context.Context, runID string, e journal.Entry) (string, int64, error) {
	switch e.Kind {
	case journal.KindPause:
		if e.Expired(time.Now()) {
			return fmt.Sprintf("the pause on %s ended by itself at %s", u.nodeName(e.Node), e.Until.UTC().Format(time.RFC3339)), 0, nil
		}
		o := u.nodeOptions(e.Node)
		uctx, cancel := context.WithTimeout(ctx, 2*adminTimeout)
		defer cancel()
		if strings.EqualFold(e.Name, "ALL") {
			g, err := openPauseGuard(uctx, o)
			if err != nil {
				return "", 0, fmt.Errorf("no connection outside the pause (it ends by itself at %s): %w", e.Until.UTC().Format(time.RFC3339), err)
			}
			defer g.close()
			if err := g.unpause(uctx); err != nil {
				return "", 0, err
			}
		} else {
			c := goredis.NewClient(o)
			defer c.Close()
			if err := c.Do(uctx, "CLIENT", "UNPAUSE").Err(); err != nil {
				return "", 0, fmt.Errorf("CLIENT UNPAUSE: %w", err)
			}
		}
		return "lifted the pause (" + strings.ToLower(e.Name) + ") on " + u.nodeName(e.Node), 0, nil
	case journal.KindSetting:
		c := goredis.NewClient(u.nodeOptions(e.Node))
		defer c.Close()
		v, err := c.ConfigGet(ctx, e.Name).Result()
		if err != nil {
			return "", 0, fmt.Errorf("CONFIG GET %s: %w", e.Name, err)
		}
		cur, ok := v[e.Name]
		if !ok {
			return "", 0, fmt.Errorf("CONFIG GET %s: no value", e.Name)
		}
		switch {
		case cur == e.Was:
			return fmt.Sprintf("%s on %s is %s already", e.Name, u.nodeName(e.Node), quoted(cur)), 0, nil
		case e.Now != "" && cur != e.Now:
			// Someone set it since the run did: theirs stands.
			return fmt.Sprintf("left %s on %s at %s: someone changed it after the run set %s (it was %s before the run)",
				e.Name, u.nodeName(e.Node), quoted(cur), quoted(e.Now), quoted(e.Was)), 0, nil
		}
		if err := c.ConfigSet(ctx, e.Name, e.Was).Err(); err != nil {
			return "", 0, fmt.Errorf("CONFIG SET %s %s: %w", e.Name, e.Was, err)
		}
		return fmt.Sprintf("restored %s=%s on %s (the run had set %s)", e.Name, quoted(e.Was), u.nodeName(e.Node), quoted(cur)), 0, nil
	case journal.KindKeys:
		// The run namespace always ends in runplan:<run id>: (see
		// runNamespace): anything else is not this run's to delete.
		if runID == "" || !strings.HasSuffix(e.Name, runNamespace("", runID)) {
			return "", 0, fmt.Errorf("not deleting keys under %q: the namespace does not name run %q", e.Name, runID)
		}
		n, err := u.deleteKeys(ctx, globEscape(e.Name)+"*")
		if err != nil {
			return "", n, fmt.Errorf("%d deleted, then: %w", n, err)
		}
		return fmt.Sprintf("removed %d keys under %q", n, e.Name), n, nil
	}
	return "", 0, fmt.Errorf("unknown journal entry kind %q (written by a newer runplan?)", e.Kind)
}

// nodeOptions returns client options for node (host:port, or a unix path;
// "" is the URL's own server), with the URL's credentials and TLS, dialling
// directly.
func (u *cleanupURL) nodeOptions(node string) *goredis.Options {
	o := *u.opts
	if node != "" {
		o.Addr = node
		o.Network = "tcp"
		if strings.HasPrefix(node, "/") {
			o.Network = "unix"
		}
	}
	if u.mode == modeURL && node == "" {
		o.Addr = u.addrs[0]
	}
	o.MaxRetries, o.PoolSize, o.DisableIdentity, o.Protocol = -1, 1, true, 2
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = adminTimeout, adminTimeout, adminTimeout
	o.ContextTimeoutEnabled = true
	o.Dialer = directDialer(o.TLSConfig, adminTimeout)
	return &o
}

func (u *cleanupURL) nodeName(node string) string {
	if node == "" {
		return u.identity
	}
	return node
}

// deleteKeys removes the keys matching pattern from the servers the URL
// names (every primary of a cluster; the current primary of a Sentinel
// set) and returns how many.
func (u *cleanupURL) deleteKeys(ctx context.Context, pattern string) (int64, error) {
	switch u.mode {
	case modeCluster:
		co := &goredis.ClusterOptions{Addrs: u.addrs, Username: u.opts.Username, Password: u.opts.Password,
			TLSConfig: u.opts.TLSConfig, MaxRetries: -1, DisableIdentity: true, Protocol: 2,
			DialTimeout: adminTimeout, ReadTimeout: adminTimeout, WriteTimeout: adminTimeout}
		co.Dialer = directDialer(co.TLSConfig, adminTimeout)
		cc := goredis.NewClusterClient(co)
		defer cc.Close()
		var total atomic.Int64
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			n, err := cleanNode(ctx, c, pattern, true, false)
			total.Add(n)
			return err
		})
		return total.Load(), err
	case modeSentinel:
		fo := &goredis.FailoverOptions{MasterName: u.master, SentinelAddrs: u.addrs, SentinelUsername: u.sentUser,
			SentinelPassword: u.sentPass, Username: u.opts.Username, Password: u.opts.Password, DB: u.opts.DB,
			TLSConfig: u.opts.TLSConfig, MaxRetries: -1, DisableIdentity: true, Protocol: 2,
			DialTimeout: adminTimeout, ReadTimeout: adminTimeout, WriteTimeout: adminTimeout}
		c := goredis.NewFailoverClient(fo)
		defer c.Close()
		return cleanNode(ctx, c, pattern, false, false)
	}
	c := goredis.NewClient(u.nodeOptions(""))
	defer c.Close()
	return cleanNode(ctx, c, pattern, false, false)
}

func quoted(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
