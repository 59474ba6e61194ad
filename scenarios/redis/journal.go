package redis

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/journal"
)

var (
	_ driver.Journaler     = (*Target)(nil)
	_ driver.ResultCleaner = (*Target)(nil)
	_ driver.Recoverer     = Driver{}
)

// nopJournal is the journal of targets the engine gave none (runplan
// started their servers, or a test opened them directly).
type nopJournal struct{}

func (nopJournal) Record(journal.Entry) error { return nil }
func (nopJournal) Forget(journal.Entry) error { return nil }

// BindJournal gives the target its journal. On a server runplan did not
// start it records the namespace of the run's keys at once (unless the
// target keeps them), so that `runplan cleanup` can remove them after a
// crash; faults record every setting before they change it. It is called
// once, before any step, prefill or fault.
func (t *Target) BindJournal(j driver.Journal) error {
	if j == nil {
		return nil
	}
	t.jr = j
	// A read_only target writes nothing: its prefix is the user's own, and
	// a journaled namespace would let runplan cleanup delete the user's keys.
	if t.owned || t.keep || t.readOnly {
		return nil
	}
	if err := j.Record(t.keysEntry()); err != nil {
		return fmt.Errorf("redis: target %q: %w", t.name, err)
	}
	return nil
}

// journal returns the target's journal, never nil.
func (t *Target) journal() driver.Journal {
	if t.jr == nil {
		return nopJournal{}
	}
	return t.jr
}

// keysEntry is the journal entry of the run's key namespace.
func (t *Target) keysEntry() journal.Entry {
	return journal.Entry{Kind: journal.KindKeys, Name: t.prefix}
}

// Identity returns the journal identity of a target's servers: the scheme,
// the address(es) sorted and the database, without user, password or
// options — redis://127.0.0.1:6379/0, rediss://cache:6380/2,
// unix:///run/redis.sock?db=0, redis-sentinel://h1:26379,h2:26379/mymaster/0,
// redis-cluster://h1:7000,h2:7000. It is "" for targets runplan starts
// (embedded, managed): their servers end with the run. No I/O; safe for
// concurrent use.
func (c *Config) Identity() string { return c.cfg.identity() }

func (c *config) identity() string {
	tlsOn := c.tls != nil
	switch c.mode {
	case modeURL:
		if c.opts == nil {
			return ""
		}
		db := c.opts.DB
		if c.hasDB {
			db = c.db
		}
		return singleIdentity(c.opts.Network, c.opts.Addr, db, tlsOn || c.opts.TLSConfig != nil)
	case modeSentinel:
		return multiIdentity("sentinel", tlsOn, c.sentinel.addrs) + "/" + c.sentinel.master + "/" + strconv.Itoa(c.db)
	case modeCluster:
		return multiIdentity("cluster", tlsOn, c.cluster.addrs)
	}
	return ""
}

func singleIdentity(network, addr string, db int, tlsOn bool) string {
	if network == "unix" {
		return "unix://" + addr + "?db=" + strconv.Itoa(db)
	}
	s := "redis://"
	if tlsOn {
		s = "rediss://"
	}
	return s + normAddr(addr) + "/" + strconv.Itoa(db)
}

func multiIdentity(kind string, tlsOn bool, addrs []string) string {
	s := "redis-" + kind + "://"
	if tlsOn {
		s = "rediss-" + kind + "://"
	}
	norm := make([]string, len(addrs))
	for i, a := range addrs {
		norm[i] = normAddr(a)
	}
	slices.Sort(norm)
	return s + strings.Join(slices.Compact(norm), ",")
}

// normAddr lower-cases the host of host:port and drops IPv6 zone noise.
func normAddr(addr string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return strings.ToLower(addr)
	}
	return net.JoinHostPort(strings.ToLower(h), p)
}

// cleanupURL is what `runplan cleanup` is given: a single server
// (redis://, rediss://, unix://, parsed by go-redis), a Sentinel set
// (redis-sentinel://[user:pass@]h1:26379,h2:26379/master[/db]
// [?sentinel_username=..&sentinel_password=..]) or a cluster
// (redis-cluster://[user:pass@]h1:7000,h2:7000); rediss-sentinel:// and
// rediss-cluster:// connect with TLS.
type cleanupURL struct {
	mode     string // modeURL, modeSentinel or modeCluster
	opts     *goredis.Options
	addrs    []string
	master   string
	sentUser string
	sentPass string
	identity string
}

// URLIdentity returns the identity of the servers a cleanup URL names. It
// never returns the URL's secrets. Safe for concurrent use.
func (Driver) URLIdentity(raw string) (string, error) {
	u, err := parseCleanupURL(raw)
	if err != nil {
		return "", err
	}
	return u.identity, nil
}

func parseCleanupURL(raw string) (*cleanupURL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("%w: %s", driver.ErrNotHandled, redactURL(raw))
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "redis", "rediss", "unix":
		o, err := goredis.ParseURL(raw)
		if err != nil {
			if ue, ok := err.(*url.Error); ok {
				err = ue.Err
			}
			return nil, fmt.Errorf("redis: invalid url %s: %w", redactURL(raw), scrub(err, secrets(raw)))
		}
		return &cleanupURL{mode: modeURL, opts: o, addrs: []string{o.Addr},
			identity: singleIdentity(o.Network, o.Addr, o.DB, o.TLSConfig != nil)}, nil
	case "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster":
	default:
		return nil, fmt.Errorf("%w: %s", driver.ErrNotHandled, redactURL(raw))
	}
	bad := func(why string) error {
		return fmt.Errorf("redis: invalid url %s: %s", redactURL(raw), why)
	}
	query := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	o := &goredis.Options{}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user, pass, _ := strings.Cut(rest[:at], ":")
		var err error
		if o.Username, err = url.PathUnescape(user); err == nil {
			o.Password, err = url.PathUnescape(pass)
		}
		if err != nil {
			return nil, bad("the user information is not escaped properly")
		}
		rest = rest[at+1:]
	}
	hosts, path, _ := strings.Cut(rest, "/")
	c := &cleanupURL{opts: o}
	for _, h := range strings.Split(hosts, ",") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			return nil, bad(fmt.Sprintf("address %q: want host:port", h))
		}
		c.addrs = append(c.addrs, h)
	}
	tlsOn := strings.HasPrefix(scheme, "rediss")
	if tlsOn {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12} // the server name comes from each address
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, bad("invalid query")
	}
	if strings.HasSuffix(scheme, "cluster") {
		if path != "" {
			return nil, bad("a cluster URL has no path (a cluster has only db 0)")
		}
		c.mode, c.identity = modeCluster, multiIdentity("cluster", tlsOn, c.addrs)
		return c, nil
	}
	master, db, _ := strings.Cut(path, "/")
	if master == "" {
		return nil, bad("name the master: redis-sentinel://host:port/MASTER[/db]")
	}
	if db != "" {
		if o.DB, err = strconv.Atoi(db); err != nil || o.DB < 0 {
			return nil, bad(fmt.Sprintf("db %q: want a number", db))
		}
	}
	c.mode, c.master = modeSentinel, master
	c.sentUser, c.sentPass = q.Get("sentinel_username"), q.Get("sentinel_password")
	c.identity = multiIdentity("sentinel", tlsOn, c.addrs) + "/" + master + "/" + strconv.Itoa(o.DB)
	return c, nil
}
