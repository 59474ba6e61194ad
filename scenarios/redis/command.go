package redis

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

// cmdInfo is what the driver knows of a command, in the terms of Redis's
// COMMAND INFO: arity counts the command name and is a minimum when
// negative; keys are the argument positions first, first+step, ... up to last
// (negative: counted from the end, -1 being the last argument); first 0 means
// the command takes no key.
type cmdInfo struct {
	arity             int
	first, last, step int
	access            access
}

// access is what a command does to the keyspace, after Redis's own command
// flags (readonly, write) and key-spec flags (RO, RW, OW, RM; INSERT, UPDATE,
// DELETE), as COMMAND INFO reports them. It decides what runs on a read_only
// target (aRead only) and which keys a command may leave without an expiry,
// so that they get the safety TTL on a target runplan did not start.
type access uint8

const (
	// aRead: reads only (flag readonly, or no key and no effect: PING,
	// ECHO, INFO, TIME, LASTSAVE, WAIT). The only kind a read_only target
	// runs.
	aRead access = iota
	// aEffect: writes no key but acts beyond the keyspace (PUBLISH reaches
	// the server's subscribers).
	aEffect
	// aWrite: writes (flag write) but can only remove data or set an
	// expiry, never create a key or drop its expiry (DEL, LPOP, EXPIRE...):
	// no safety TTL needed.
	aWrite
	// aGrow: may create its keys or drop their expiry (key spec INSERT or
	// UPDATE): each key gets the safety TTL after it.
	aGrow
	// aGrowDest: the same for its last key only, the destination (RENAME,
	// COPY, LMOVE, SMOVE...); the source can only lose data.
	aGrowDest
	// aOwnTTL: writes its key with an expiry of its own (SETEX, PSETEX).
	aOwnTTL
	// aSet: SET, which drops the key's expiry unless given one (EX, PX,
	// EXAT, PXAT) or told to keep it (KEEPTTL): the safety TTL goes into the
	// command itself as EX n when it has no expiry option.
	aSet
)

// writes reports whether a command of this kind changes the server's data or
// reaches beyond it, and so is refused on a read_only target.
func (a access) writes() bool { return a != aRead }

// commands lists the commands a step may run: those whose keys are known, so
// that they can be put under the run's key prefix, and a few without keys.
var commands = map[string]cmdInfo{
	// no keys
	"PING": {-1, 0, 0, 0, aRead}, "ECHO": {2, 0, 0, 0, aRead}, "INFO": {-1, 0, 0, 0, aRead}, "TIME": {1, 0, 0, 0, aRead},
	"DBSIZE": {1, 0, 0, 0, aRead}, "PUBLISH": {3, 0, 0, 0, aEffect}, "WAIT": {3, 0, 0, 0, aRead}, "LASTSAVE": {1, 0, 0, 0, aRead},
	// keyspace
	"DEL": {-2, 1, -1, 1, aWrite}, "UNLINK": {-2, 1, -1, 1, aWrite}, "EXISTS": {-2, 1, -1, 1, aRead}, "TOUCH": {-2, 1, -1, 1, aRead},
	"EXPIRE": {-3, 1, 1, 1, aWrite}, "PEXPIRE": {-3, 1, 1, 1, aWrite}, "EXPIREAT": {-3, 1, 1, 1, aWrite}, "PEXPIREAT": {-3, 1, 1, 1, aWrite},
	"PERSIST": {2, 1, 1, 1, aGrow}, "TTL": {2, 1, 1, 1, aRead}, "PTTL": {2, 1, 1, 1, aRead}, "TYPE": {2, 1, 1, 1, aRead},
	"RENAME": {3, 1, 2, 1, aGrowDest}, "RENAMENX": {3, 1, 2, 1, aGrowDest}, "COPY": {-3, 1, 2, 1, aGrowDest},
	// strings
	"GET": {2, 1, 1, 1, aRead}, "SET": {-3, 1, 1, 1, aSet}, "SETEX": {4, 1, 1, 1, aOwnTTL}, "PSETEX": {4, 1, 1, 1, aOwnTTL},
	"SETNX": {3, 1, 1, 1, aGrow}, "GETSET": {3, 1, 1, 1, aGrow}, "GETDEL": {2, 1, 1, 1, aWrite}, "GETEX": {-2, 1, 1, 1, aGrow},
	"GETRANGE": {4, 1, 1, 1, aRead}, "SETRANGE": {4, 1, 1, 1, aGrow}, "INCR": {2, 1, 1, 1, aGrow}, "INCRBY": {3, 1, 1, 1, aGrow},
	"INCRBYFLOAT": {3, 1, 1, 1, aGrow}, "DECR": {2, 1, 1, 1, aGrow}, "DECRBY": {3, 1, 1, 1, aGrow}, "APPEND": {3, 1, 1, 1, aGrow},
	"STRLEN": {2, 1, 1, 1, aRead}, "MGET": {-2, 1, -1, 1, aRead}, "MSET": {-3, 1, -1, 2, aGrow}, "MSETNX": {-3, 1, -1, 2, aGrow},
	"SETBIT": {4, 1, 1, 1, aGrow}, "GETBIT": {3, 1, 1, 1, aRead}, "BITCOUNT": {-2, 1, 1, 1, aRead},
	// hashes
	"HGET": {3, 1, 1, 1, aRead}, "HSET": {-4, 1, 1, 1, aGrow}, "HSETNX": {4, 1, 1, 1, aGrow}, "HMSET": {-4, 1, 1, 1, aGrow},
	"HMGET": {-3, 1, 1, 1, aRead}, "HGETALL": {2, 1, 1, 1, aRead}, "HDEL": {-3, 1, 1, 1, aWrite}, "HINCRBY": {4, 1, 1, 1, aGrow},
	"HINCRBYFLOAT": {4, 1, 1, 1, aGrow}, "HEXISTS": {3, 1, 1, 1, aRead}, "HLEN": {2, 1, 1, 1, aRead}, "HKEYS": {2, 1, 1, 1, aRead},
	"HVALS": {2, 1, 1, 1, aRead}, "HSTRLEN": {3, 1, 1, 1, aRead},
	// lists
	"LPUSH": {-3, 1, 1, 1, aGrow}, "RPUSH": {-3, 1, 1, 1, aGrow}, "LPUSHX": {-3, 1, 1, 1, aGrow}, "RPUSHX": {-3, 1, 1, 1, aGrow},
	"LPOP": {-2, 1, 1, 1, aWrite}, "RPOP": {-2, 1, 1, 1, aWrite}, "LRANGE": {4, 1, 1, 1, aRead}, "LLEN": {2, 1, 1, 1, aRead},
	"LINDEX": {3, 1, 1, 1, aRead}, "LSET": {4, 1, 1, 1, aGrow}, "LREM": {4, 1, 1, 1, aWrite}, "LTRIM": {4, 1, 1, 1, aWrite},
	"LMOVE": {5, 1, 2, 1, aGrowDest}, "RPOPLPUSH": {3, 1, 2, 1, aGrowDest},
	// sets
	"SADD": {-3, 1, 1, 1, aGrow}, "SREM": {-3, 1, 1, 1, aWrite}, "SMEMBERS": {2, 1, 1, 1, aRead}, "SISMEMBER": {3, 1, 1, 1, aRead},
	"SMISMEMBER": {-3, 1, 1, 1, aRead}, "SCARD": {2, 1, 1, 1, aRead}, "SPOP": {-2, 1, 1, 1, aWrite}, "SRANDMEMBER": {-2, 1, 1, 1, aRead},
	"SINTER": {-2, 1, -1, 1, aRead}, "SUNION": {-2, 1, -1, 1, aRead}, "SDIFF": {-2, 1, -1, 1, aRead}, "SMOVE": {4, 1, 2, 1, aGrowDest},
	// sorted sets
	"ZADD": {-4, 1, 1, 1, aGrow}, "ZREM": {-3, 1, 1, 1, aWrite}, "ZRANGE": {-4, 1, 1, 1, aRead}, "ZRANGEBYSCORE": {-4, 1, 1, 1, aRead},
	"ZREVRANGE": {-4, 1, 1, 1, aRead}, "ZSCORE": {3, 1, 1, 1, aRead}, "ZMSCORE": {-3, 1, 1, 1, aRead}, "ZCARD": {2, 1, 1, 1, aRead},
	"ZCOUNT": {4, 1, 1, 1, aRead}, "ZINCRBY": {4, 1, 1, 1, aGrow}, "ZRANK": {-3, 1, 1, 1, aRead}, "ZREVRANK": {-3, 1, 1, 1, aRead},
	"ZPOPMIN": {-2, 1, 1, 1, aWrite}, "ZPOPMAX": {-2, 1, 1, 1, aWrite}, "ZREMRANGEBYSCORE": {4, 1, 1, 1, aWrite},
	"ZREMRANGEBYRANK": {4, 1, 1, 1, aWrite},
	// streams
	"XADD": {-5, 1, 1, 1, aGrow}, "XLEN": {2, 1, 1, 1, aRead}, "XRANGE": {-4, 1, 1, 1, aRead}, "XREVRANGE": {-4, 1, 1, 1, aRead},
	"XTRIM": {-4, 1, 1, 1, aWrite}, "XDEL": {-3, 1, 1, 1, aWrite},
	// hyperloglogs
	"PFADD": {-2, 1, 1, 1, aGrow}, "PFCOUNT": {-2, 1, -1, 1, aRead},
}

// destructive lists destructive or administrative commands, and commands
// that reach beyond the run's keys. They run only on targets runplan started
// (embedded and managed), or where the plan and the command line both allow
// them. Their arguments are sent as written: no key prefix is applied.
var destructive = map[string]bool{
	"FLUSHALL": true, "FLUSHDB": true, "CONFIG": true, "DEBUG": true, "SHUTDOWN": true,
	"CLIENT": true, "FAILOVER": true, "KEYS": true, "SCAN": true, "RANDOMKEY": true, "SAVE": true, "BGSAVE": true,
	"BGREWRITEAOF": true, "REPLICAOF": true, "SLAVEOF": true, "SCRIPT": true, "MODULE": true,
	"ACL": true, "CLUSTER": true, "MIGRATE": true, "SWAPDB": true, "FUNCTION": true,
	"SLOWLOG": true, "LATENCY": true, "MEMORY": true, "OBJECT": true, "SENTINEL": true, "READONLY": true, "READWRITE": true,
}

// connectionState lists commands that change or take over the state of a
// pooled connection; no plan may run them (transactions are written with
// `transaction: true`).
var connectionState = map[string]string{
	"MONITOR": "it takes over the connection", "SYNC": "it takes over the connection", "PSYNC": "it takes over the connection",
	"SUBSCRIBE": "it takes over the connection", "PSUBSCRIBE": "it takes over the connection", "SSUBSCRIBE": "it takes over the connection",
	"UNSUBSCRIBE": "it changes the connection's state", "PUNSUBSCRIBE": "it changes the connection's state", "SUNSUBSCRIBE": "it changes the connection's state",
	"SELECT": "it changes the pooled connection's database: set the target's db instead",
	"AUTH":   "credentials belong to the target (username, password)", "HELLO": "it changes the connection's protocol",
	"QUIT": "it closes the connection", "RESET": "it resets the connection's state",
	"MULTI": "write a transaction as {commands: [...], transaction: true}", "EXEC": "write a transaction as {commands: [...], transaction: true}",
	"DISCARD": "write a transaction as {commands: [...], transaction: true}",
	"WATCH":   "optimistic locking is not supported", "UNWATCH": "optimistic locking is not supported",
}

// commandNames is the sorted list of supported commands, for messages.
var commandNames = func() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}()

// isKey reports whether argument position i (1-based, the command name being
// 0) of an n-element command holds a key.
func (c cmdInfo) isKey(i, n int) bool {
	if c.first == 0 || i < c.first {
		return false
	}
	last := c.last
	if last < 0 {
		last = n + last
	}
	return i <= last && (i-c.first)%c.step == 0
}

// commandArg is one prepared argument: a static value, a template, or a
// generated value.
type commandArg struct {
	src   string
	tpl   *tmpl.Template // nil when static or generated
	size  *sizeSpec      // a generated value: {value_size: ...}
	key   bool
	bytes []byte    // static: the bytes to send, key prefix applied (after bind)
	gen   *valueGen // generated: after bind
}

// cmdSpec is one prepared command. It is immutable after bind and safe
// for concurrent use.
type cmdSpec struct {
	name string // upper-case
	args []commandArg
	keys []int // positions of key arguments
	dyn  bool  // some argument is rendered or generated per call
	pos  *yaml.Node
	// setTTL is what a SET says about its key's expiry (SET only).
	setTTL setExpiry
}

// gate decides what may run on the step's target: destructive commands
// (allowed), and anything but reads (not readOnly).
type gate struct {
	target   string
	allowed  bool
	readOnly bool
}

// prepareCmd decodes one command sequence.
func prepareCmd(n *yaml.Node, c *tmpl.Compiler, g gate) (*cmdSpec, error) {
	n = valueNode(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, diag.Errorf(n, "redis: expected a command sequence such as [GET, key], got %s", describe(n))
	}
	if len(n.Content) == 0 {
		return nil, diag.Errorf(n, "redis: empty command: expected a sequence such as [GET, key]")
	}
	nameNode := valueNode(n.Content[0])
	if nameNode.Kind != yaml.ScalarNode || isNull(nameNode) || nameNode.Value == "" {
		return nil, diag.Errorf(nameNode, "redis: expected a command name, got %s", describe(nameNode))
	}
	if tmpl.HasTemplate(nameNode.Value) {
		return nil, diag.Errorf(nameNode, "redis: the command name must not be a template")
	}
	name := strings.ToUpper(nameNode.Value)
	if why, ok := connectionState[name]; ok {
		return nil, diag.Errorf(nameNode, "redis: command %s is refused: %s", name, why)
	}
	total := len(n.Content)
	info, known := commands[name]
	switch {
	case g.readOnly && (destructive[name] || known && info.access.writes()):
		return nil, diag.Errorf(nameNode, "redis: command %s is refused on target %q: the target is read_only, so that runplan never changes data it did not write, "+
			"and %s; only read commands run there (GET, MGET, EXISTS, TTL, STRLEN, HGET, HGETALL, LRANGE, SMEMBERS, ZRANGE, ...)", name, g.target, writeReason(name, info))
	case destructive[name]:
		if !g.allowed {
			return nil, diag.Errorf(nameNode, "redis: command %s is refused on target %q: it is destructive or administrative, or reaches beyond the run's keys, "+
				"and runplan did not start this server; to run it anyway, set allow_destructive: true on the target and pass --allow-destructive", name, g.target)
		}
		info = cmdInfo{arity: -1}
	case !known:
		hint := ""
		if s := diag.Suggest(name, commandNames); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
		return nil, diag.Errorf(nameNode, "redis: unsupported command %s%s: only commands whose key positions are known can run, "+
			"so that their keys go under the run's key prefix; supported: %s", name, hint, strings.Join(commandNames, " "))
	case info.arity > 0 && total != info.arity:
		return nil, diag.Errorf(nameNode, "redis: %s takes %s, got %d", name, plural(info.arity-1), total-1)
	case info.arity < 0 && total < -info.arity:
		return nil, diag.Errorf(nameNode, "redis: %s takes at least %s, got %d", name, plural(-info.arity-1), total-1)
	case info.step > 1 && info.last < 0 && (total-info.first)%info.step != 0:
		return nil, diag.Errorf(nameNode, "redis: %s takes key value pairs, got %d arguments", name, total-1)
	}
	s := &cmdSpec{name: name, pos: nameNode}
	s.args = make([]commandArg, total)
	s.args[0] = commandArg{src: name}
	var errs []error
	for i := 1; i < total; i++ {
		a := valueNode(n.Content[i])
		key := info.isKey(i, total)
		switch {
		case a.Kind == yaml.MappingNode:
			sz, err := prepareValueArg(a, name, i, key)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.args[i] = commandArg{src: "{value_size}", size: &sz}
			s.dyn = true
			continue
		case a.Kind != yaml.ScalarNode:
			errs = append(errs, diag.Errorf(a, "redis: %s argument %d: expected a string, a number or {value_size: ...}, got %s", name, i, describe(a)))
			continue
		case isNull(a):
			errs = append(errs, diag.Errorf(a, "redis: %s argument %d is null: write \"\" for an empty string", name, i))
			continue
		}
		arg := commandArg{src: a.Value, key: key}
		if key {
			s.keys = append(s.keys, i)
		}
		if tmpl.HasTemplate(a.Value) {
			t, err := compileAt(c, a, fmt.Sprintf("%s argument %d", name, i))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !t.Static() {
				arg.tpl = t
				s.dyn = true
			}
		}
		s.args[i] = arg
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	if name == "SET" {
		s.setTTL = setExpiryOf(s)
	}
	return s, nil
}

// writeReason says why command name may not run on a read_only target.
func writeReason(name string, info cmdInfo) string {
	switch {
	case destructive[name]:
		return "it is destructive or administrative, or reaches beyond the keys the plan names"
	case info.access == aEffect:
		return "it acts beyond the keyspace (" + name + " reaches the server's subscribers)"
	}
	return "it writes (Redis flags " + name + " as a write command)"
}

// prepareValueArg decodes a generated-value argument, {value_size: SIZE}.
func prepareValueArg(n *yaml.Node, cmd string, i int, key bool) (sizeSpec, error) {
	what := fmt.Sprintf("%s argument %d", cmd, i)
	if key {
		return sizeSpec{}, diag.Errorf(n, "redis: %s is a key: a key cannot be a generated value", what)
	}
	var o struct {
		ValueSize *yaml.Node `yaml:"value_size"`
	}
	if _, err := decode.Decode(n, &o, decode.Options{Prefix: "redis: "}); err != nil {
		return sizeSpec{}, err
	}
	if o.ValueSize == nil {
		return sizeSpec{}, diag.Errorf(n, "redis: %s: expected a string, a number or {value_size: SIZE} (a generated value)", what)
	}
	return parseSize(o.ValueSize, what+" value_size")
}

func plural(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}

// bind applies the target's key prefix to the static keys and sets the
// value generators up. It must not run concurrently with render.
func (s *cmdSpec) bind(prefix string) {
	for i := range s.args {
		a := &s.args[i]
		switch {
		case a.size != nil:
			a.gen = newValueGen(*a.size)
		case a.tpl != nil:
		case a.key:
			a.bytes = []byte(prefix + a.src)
		default:
			a.bytes = []byte(a.src)
		}
	}
}

// render appends the command's arguments to argv, rendering templates into
// buf (keys with the prefix) and drawing generated values. Slices of buf
// handed out earlier stay valid if buf grows: they keep the old array.
func (s *cmdSpec) render(argv [][]byte, buf []byte, prefix string, it *driver.Iteration) ([][]byte, []byte, error) {
	for i := range s.args {
		a := &s.args[i]
		switch {
		case a.tpl != nil:
			start := len(buf)
			if a.key {
				buf = append(buf, prefix...)
			}
			var err error
			buf, err = a.tpl.AppendTo(buf, it.Templates)
			if err != nil {
				return argv, buf, fmt.Errorf("%s argument %d %q: %w", s.name, i, a.src, err)
			}
			argv = append(argv, buf[start:len(buf):len(buf)])
		case a.gen != nil:
			argv = append(argv, a.gen.value(it.Rand))
		default:
			argv = append(argv, a.bytes)
		}
	}
	return argv, buf, nil
}
