package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
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
	"DBSIZE": {1, 0, 0, 0}, "PUBLISH": {3, 0, 0, 0},
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

// refused lists destructive or administrative commands, which a plan may not
// run: they would reach beyond the run's keys or disturb the server itself.
var refused = map[string]bool{
	"FLUSHALL": true, "FLUSHDB": true, "CONFIG": true, "DEBUG": true, "SHUTDOWN": true,
	"CLIENT": true, "FAILOVER": true, "KEYS": true, "SAVE": true, "BGSAVE": true,
	"BGREWRITEAOF": true, "REPLICAOF": true, "SLAVEOF": true, "SCRIPT": true, "MODULE": true,
	"ACL": true, "CLUSTER": true, "MIGRATE": true, "SWAPDB": true, "MONITOR": true,
	"SYNC": true, "PSYNC": true, "FUNCTION": true,
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

// commandArg is one prepared argument: a static value, or a template.
type commandArg struct {
	src string
	tpl *tmpl.Template // nil when static
	key bool
}

// commandStep runs one Redis command. After Bind it is safe for concurrent use.
type commandStep struct {
	step  string
	name  string // upper-case command name
	args  []commandArg
	nTpl  int
	errAt string // "redis: GET: "

	target *Target
	static []any // args[i] with the key prefix applied, for static ones
	pool   sync.Pool
}

// scratch is a per-call buffer set, recycled through a sync.Pool so that a
// call renders its templates without allocating argument storage.
type scratch struct {
	buf   []byte
	slots []argSlot
	args  []any
}

// argSlot hands a rendered argument to go-redis without converting it to a
// string: a pointer fits in an interface without allocating.
type argSlot struct{ b []byte }

// MarshalBinary returns the rendered bytes.
func (s *argSlot) MarshalBinary() ([]byte, error) { return s.b, nil }

func prepareCommand(step string, n *yaml.Node, c *tmpl.Compiler) (driver.Step, error) {
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
	if refused[name] {
		return nil, driver.Errorf(nameNode, "redis: command %s is refused: it is destructive or administrative", name)
	}
	info, ok := commands[name]
	if !ok {
		hint := ""
		if s := suggest(name, commandNames); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
		return nil, driver.Errorf(nameNode, "redis: unsupported command %s%s: only commands whose key positions are known can run, "+
			"so that their keys go under the run's key prefix; supported: %s", name, hint, strings.Join(commandNames, " "))
	}
	total := len(n.Content)
	switch {
	case info.arity > 0 && total != info.arity:
		return nil, driver.Errorf(nameNode, "redis: %s takes %s, got %d", name, plural(info.arity-1), total-1)
	case info.arity < 0 && total < -info.arity:
		return nil, driver.Errorf(nameNode, "redis: %s takes at least %s, got %d", name, plural(-info.arity-1), total-1)
	case info.step > 1 && info.last < 0 && (total-info.first)%info.step != 0:
		return nil, driver.Errorf(nameNode, "redis: %s takes key value pairs, got %d arguments", name, total-1)
	}
	s := &commandStep{step: step, name: name, errAt: "redis: " + name + ": "}
	s.args = make([]commandArg, total)
	s.args[0] = commandArg{src: name}
	var errs []error
	for i := 1; i < total; i++ {
		a := valueNode(n.Content[i])
		if a.Kind != yaml.ScalarNode {
			errs = append(errs, driver.Errorf(a, "redis: %s argument %d: expected a string or a number, got %s", name, i, describe(a)))
			continue
		}
		if isNull(a) {
			errs = append(errs, driver.Errorf(a, "redis: %s argument %d is null: write \"\" for an empty string", name, i))
			continue
		}
		arg := commandArg{src: a.Value, key: info.isKey(i, total)}
		if tmpl.HasTemplate(a.Value) {
			t, err := compileAt(c, a, fmt.Sprintf("%s argument %d", name, i))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !t.Static() {
				arg.tpl = t
				s.nTpl++
			}
		}
		s.args[i] = arg
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

func plural(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}

// Bind ties the step to its target and applies the key prefix to the static
// keys. It must not run concurrently with Do.
func (s *commandStep) Bind(t driver.Target) error {
	tg, ok := t.(*Target)
	if !ok {
		return fmt.Errorf("redis: step %q: target is a %T, not a redis target", s.step, t)
	}
	s.target = tg
	s.static = make([]any, len(s.args))
	for i, a := range s.args {
		if a.tpl != nil {
			continue
		}
		if a.key {
			s.static[i] = tg.prefix + a.src
		} else {
			s.static[i] = a.src
		}
	}
	s.pool = sync.Pool{New: func() any {
		sc := &scratch{slots: make([]argSlot, len(s.args)), args: make([]any, len(s.args))}
		for i, a := range s.args {
			if a.tpl != nil {
				sc.args[i] = &sc.slots[i]
			} else {
				sc.args[i] = s.static[i]
			}
		}
		return sc
	}}
	return nil
}

// Do renders the step's templates and runs the command. A nil reply is a
// success. Do is safe for concurrent use; it touches no shared mutable state.
func (s *commandStep) Do(ctx context.Context, it *driver.Iteration) driver.Outcome {
	sc := s.pool.Get().(*scratch)
	if s.nTpl > 0 {
		if it == nil || it.Templates == nil {
			s.pool.Put(sc)
			return driver.Outcome{Err: fmt.Errorf("%sno template state for iteration", s.errAt), Class: ClassTemplate}
		}
		buf := sc.buf[:0]
		for i, a := range s.args {
			if a.tpl == nil {
				continue
			}
			start := len(buf)
			if a.key {
				buf = append(buf, s.target.prefix...)
			}
			var err error
			buf, err = a.tpl.AppendTo(buf, it.Templates)
			if err != nil {
				sc.buf = buf[:0]
				s.pool.Put(sc)
				return driver.Outcome{Err: fmt.Errorf("%sargument %d %q: %w", s.errAt, i, a.src, err), Class: ClassTemplate}
			}
			// A slice of the old array stays valid if buf grows later.
			sc.slots[i].b = buf[start:len(buf):len(buf)]
		}
		sc.buf = buf[:0]
	}
	cmd := goredis.NewCmd(ctx, sc.args...)
	err := s.target.client.Process(ctx, cmd)
	if err == nil || err == goredis.Nil {
		s.pool.Put(sc)
		return driver.Outcome{}
	}
	class := classify(err)
	if class == ClassRedis {
		// The call completed; only a failed connection might leave go-redis
		// holding on to the arguments, so only then is the scratch dropped.
		s.pool.Put(sc)
	}
	return driver.Outcome{Err: fmt.Errorf("%s%w", s.errAt, err), Class: class}
}
