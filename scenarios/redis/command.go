package redis

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

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
}

// commands lists the commands a step may run: those whose keys are known, so
// that they can be put under the run's key prefix, and a few without keys.
var commands = map[string]cmdInfo{
	// no keys
	"PING": {-1, 0, 0, 0}, "ECHO": {2, 0, 0, 0}, "INFO": {-1, 0, 0, 0}, "TIME": {1, 0, 0, 0},
	"DBSIZE": {1, 0, 0, 0}, "PUBLISH": {3, 0, 0, 0}, "WAIT": {3, 0, 0, 0}, "LASTSAVE": {1, 0, 0, 0},
	// keyspace
	"DEL": {-2, 1, -1, 1}, "UNLINK": {-2, 1, -1, 1}, "EXISTS": {-2, 1, -1, 1}, "TOUCH": {-2, 1, -1, 1},
	"EXPIRE": {-3, 1, 1, 1}, "PEXPIRE": {-3, 1, 1, 1}, "EXPIREAT": {-3, 1, 1, 1}, "PEXPIREAT": {-3, 1, 1, 1},
	"PERSIST": {2, 1, 1, 1}, "TTL": {2, 1, 1, 1}, "PTTL": {2, 1, 1, 1}, "TYPE": {2, 1, 1, 1},
	"RENAME": {3, 1, 2, 1}, "RENAMENX": {3, 1, 2, 1}, "COPY": {-3, 1, 2, 1},
	// strings
	"GET": {2, 1, 1, 1}, "SET": {-3, 1, 1, 1}, "SETEX": {4, 1, 1, 1}, "PSETEX": {4, 1, 1, 1},
	"SETNX": {3, 1, 1, 1}, "GETSET": {3, 1, 1, 1}, "GETDEL": {2, 1, 1, 1}, "GETEX": {-2, 1, 1, 1},
	"GETRANGE": {4, 1, 1, 1}, "SETRANGE": {4, 1, 1, 1}, "INCR": {2, 1, 1, 1}, "INCRBY": {3, 1, 1, 1},
	"INCRBYFLOAT": {3, 1, 1, 1}, "DECR": {2, 1, 1, 1}, "DECRBY": {3, 1, 1, 1}, "APPEND": {3, 1, 1, 1},
	"STRLEN": {2, 1, 1, 1}, "MGET": {-2, 1, -1, 1}, "MSET": {-3, 1, -1, 2}, "MSETNX": {-3, 1, -1, 2},
	"SETBIT": {4, 1, 1, 1}, "GETBIT": {3, 1, 1, 1}, "BITCOUNT": {-2, 1, 1, 1},
	// hashes
	"HGET": {3, 1, 1, 1}, "HSET": {-4, 1, 1, 1}, "HSETNX": {4, 1, 1, 1}, "HMSET": {-4, 1, 1, 1},
	"HMGET": {-3, 1, 1, 1}, "HGETALL": {2, 1, 1, 1}, "HDEL": {-3, 1, 1, 1}, "HINCRBY": {4, 1, 1, 1},
	"HINCRBYFLOAT": {4, 1, 1, 1}, "HEXISTS": {3, 1, 1, 1}, "HLEN": {2, 1, 1, 1}, "HKEYS": {2, 1, 1, 1},
	"HVALS": {2, 1, 1, 1}, "HSTRLEN": {3, 1, 1, 1},
	// lists
	"LPUSH": {-3, 1, 1, 1}, "RPUSH": {-3, 1, 1, 1}, "LPUSHX": {-3, 1, 1, 1}, "RPUSHX": {-3, 1, 1, 1},
	"LPOP": {-2, 1, 1, 1}, "RPOP": {-2, 1, 1, 1}, "LRANGE": {4, 1, 1, 1}, "LLEN": {2, 1, 1, 1},
	"LINDEX": {3, 1, 1, 1}, "LSET": {4, 1, 1, 1}, "LREM": {4, 1, 1, 1}, "LTRIM": {4, 1, 1, 1},
	"LMOVE": {5, 1, 2, 1}, "RPOPLPUSH": {3, 1, 2, 1},
	// sets
	"SADD": {-3, 1, 1, 1}, "SREM": {-3, 1, 1, 1}, "SMEMBERS": {2, 1, 1, 1}, "SISMEMBER": {3, 1, 1, 1},
	"SMISMEMBER": {-3, 1, 1, 1}, "SCARD": {2, 1, 1, 1}, "SPOP": {-2, 1, 1, 1}, "SRANDMEMBER": {-2, 1, 1, 1},
	"SINTER": {-2, 1, -1, 1}, "SUNION": {-2, 1, -1, 1}, "SDIFF": {-2, 1, -1, 1}, "SMOVE": {4, 1, 2, 1},
	// sorted sets
	"ZADD": {-4, 1, 1, 1}, "ZREM": {-3, 1, 1, 1}, "ZRANGE": {-4, 1, 1, 1}, "ZRANGEBYSCORE": {-4, 1, 1, 1},
	"ZREVRANGE": {-4, 1, 1, 1}, "ZSCORE": {3, 1, 1, 1}, "ZMSCORE": {-3, 1, 1, 1}, "ZCARD": {2, 1, 1, 1},
	"ZCOUNT": {4, 1, 1, 1}, "ZINCRBY": {4, 1, 1, 1}, "ZRANK": {-3, 1, 1, 1}, "ZREVRANK": {-3, 1, 1, 1},
	"ZPOPMIN": {-2, 1, 1, 1}, "ZPOPMAX": {-2, 1, 1, 1}, "ZREMRANGEBYSCORE": {4, 1, 1, 1},
	"ZREMRANGEBYRANK": {4, 1, 1, 1},
	// streams
	"XADD": {-5, 1, 1, 1}, "XLEN": {2, 1, 1, 1}, "XRANGE": {-4, 1, 1, 1}, "XREVRANGE": {-4, 1, 1, 1},
	"XTRIM": {-4, 1, 1, 1}, "XDEL": {-3, 1, 1, 1},
	// hyperloglogs
	"PFADD": {-2, 1, 1, 1}, "PFCOUNT": {-2, 1, -1, 1},
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
}

// gate decides whether destructive commands may run on the step's target.
type gate struct {
	target  string
	allowed bool
}

// prepareCmd decodes one command sequence.
func prepareCmd(n *yaml.Node, c *tmpl.Compiler, g gate) (*cmdSpec, error) {
	n = valueNode(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, driver.Errorf(n, "redis: expected a command sequence such as [GET, key], got %s", describe(n))
	}
	if len(n.Content) == 0 {
		return nil, driver.Errorf(n, "redis: empty command: expected a sequence such as [GET, key]")
	}
	nameNode := valueNode(n.Content[0])
	if nameNode.Kind != yaml.ScalarNode || isNull(nameNode) || nameNode.Value == "" {
		return nil, driver.Errorf(nameNode, "redis: expected a command name, got %s", describe(nameNode))
	}
	if tmpl.HasTemplate(nameNode.Value) {
		return nil, driver.Errorf(nameNode, "redis: the command name must not be a template")
	}
	name := strings.ToUpper(nameNode.Value)
	if why, ok := connectionState[name]; ok {
		return nil, driver.Errorf(nameNode, "redis: command %s is refused: %s", name, why)
	}
	total := len(n.Content)
	info, known := commands[name]
	switch {
	case destructive[name]:
		if !g.allowed {
			return nil, driver.Errorf(nameNode, "redis: command %s is refused on target %q: it is destructive or administrative, or reaches beyond the run's keys, "+
				"and runplan did not start this server; to run it anyway, set allow_destructive: true on the target and pass --allow-destructive", name, g.target)
		}
		info = cmdInfo{arity: -1}
	case !known:
		hint := ""
		if s := suggest(name, commandNames); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
		return nil, driver.Errorf(nameNode, "redis: unsupported command %s%s: only commands whose key positions are known can run, "+
			"so that their keys go under the run's key prefix; supported: %s", name, hint, strings.Join(commandNames, " "))
	case info.arity > 0 && total != info.arity:
		return nil, driver.Errorf(nameNode, "redis: %s takes %s, got %d", name, plural(info.arity-1), total-1)
	case info.arity < 0 && total < -info.arity:
		return nil, driver.Errorf(nameNode, "redis: %s takes at least %s, got %d", name, plural(-info.arity-1), total-1)
	case info.step > 1 && info.last < 0 && (total-info.first)%info.step != 0:
		return nil, driver.Errorf(nameNode, "redis: %s takes key value pairs, got %d arguments", name, total-1)
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
			errs = append(errs, driver.Errorf(a, "redis: %s argument %d: expected a string, a number or {value_size: ...}, got %s", name, i, describe(a)))
			continue
		case isNull(a):
			errs = append(errs, driver.Errorf(a, "redis: %s argument %d is null: write \"\" for an empty string", name, i))
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
	return s, nil
}

// prepareValueArg decodes a generated-value argument, {value_size: SIZE}.
func prepareValueArg(n *yaml.Node, cmd string, i int, key bool) (sizeSpec, error) {
	what := fmt.Sprintf("%s argument %d", cmd, i)
	if key {
		return sizeSpec{}, driver.Errorf(n, "redis: %s is a key: a key cannot be a generated value", what)
	}
	if len(n.Content) != 2 || n.Content[0].Value != "value_size" {
		if len(n.Content) >= 2 {
			if k := n.Content[0]; k.Value != "value_size" {
				return sizeSpec{}, unknownKey(k, []string{"value_size"})
			}
		}
		return sizeSpec{}, driver.Errorf(n, "redis: %s: expected a string, a number or {value_size: SIZE} (a generated value)", what)
	}
	return parseSize(n.Content[1], what+" value_size")
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
