package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

const (
	// maxPipeline bounds pipeline: N.
	maxPipeline = 10_000
	// maxBatchCommands bounds the commands of one round trip.
	maxBatchCommands = 100_000
)

// batchStep sends one or more commands in one round trip: a single
// command, a pipeline (the commands repeated pipeline times), or a
// MULTI/EXEC transaction around them. After Bind it is safe for concurrent
// use.
type batchStep struct {
	step   string
	cmds   []*cmdSpec
	repeat int
	tx     bool
	errAt  string
	// reply: the step has captures, so Do returns the reply
	// (Outcome.Reply), sending through go-redis, which parses it.
	reply bool

	target *Target
	sends  []send   // the round trip's commands: the step's, and safety EXPIREs
	argc   []int    // arguments of each command of the round trip
	starts []int    // where each command of the round trip starts in argv
	names  []any    // each command's name, in an interface once
	static [][]byte // every argument, when nothing is rendered per call
	pool   sync.Pool
}

// batchScratch is one call's rendering space, recycled through the pool so
// that a call allocates nothing.
type batchScratch struct {
	buf  []byte
	argv [][]byte
	// go-redis path
	slots []argSlot
	args  []any
}

// argSlot hands a rendered argument to go-redis without converting it to a
// string: a pointer fits in an interface without allocating.
type argSlot struct{ b []byte }

// MarshalBinary returns the rendered bytes (go-redis writes them as is).
func (s *argSlot) MarshalBinary() ([]byte, error) { return s.b, nil }

// String returns the bytes as a string, for go-redis's cluster routing,
// which reads the key to find its slot.
func (s *argSlot) String() string { return string(s.b) }

// prepareSingle prepares the sequence form: one command.
func prepareSingle(step string, n *yaml.Node, c *tmpl.Compiler, g gate) (driver.Step, error) {
	cmd, err := prepareCmd(n, c, g)
	if err != nil {
		return nil, err
	}
	return &batchStep{step: step, cmds: []*cmdSpec{cmd}, repeat: 1, errAt: "redis: " + cmd.name + ": "}, nil
}

// batchOptions are the mapping form of a step as written; prepareMapping
// has checked its keys are step forms.
type batchOptions struct {
	Command     *yaml.Node `yaml:"command"`
	Commands    *yaml.Node `yaml:"commands"`
	Pipeline    int        `yaml:"pipeline" default:"1" min:"1" max:"10000"` // maxPipeline
	Transaction bool       `yaml:"transaction"`
}

// prepareBatch prepares the mapping form {command | commands, pipeline,
// transaction}.
func prepareBatch(step string, n *yaml.Node, c *tmpl.Compiler, g gate) (driver.Step, error) {
	var o batchOptions
	f, err := decode.Decode(n, &o, decode.Options{Prefix: "redis: "})
	errs := []error{err}
	s := &batchStep{step: step, repeat: o.Pipeline, tx: o.Transaction}
	if v := o.Command; v != nil {
		cmd, err := prepareCmd(v, c, g)
		if err == nil {
			s.cmds = append(s.cmds, cmd)
		}
		errs = append(errs, err)
	}
	if v := o.Commands; v != nil && (v.Kind != yaml.SequenceNode || len(v.Content) == 0) {
		errs = append(errs, diag.Errorf(v, "redis: commands: expected a list of commands such as [[SET, k, v], [GET, k]], got %s", describe(v)))
	} else if v != nil {
		for _, item := range v.Content {
			cmd, err := prepareCmd(item, c, g)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.cmds = append(s.cmds, cmd)
		}
	}
	switch one, many := f.Key("command"), f.Key("commands"); {
	case one != nil && many != nil:
		errs = append(errs, diag.Errorf(many, "redis: command and commands exclude each other: use commands for several"))
	case one == nil && many == nil:
		errs = append(errs, diag.Errorf(n, "redis: missing command (or commands): the command(s) to send, e.g. {command: [GET, k], pipeline: 16}"))
	}
	if err := inOrder(errs...); err != nil {
		return nil, err
	}
	if total := len(s.cmds) * s.repeat; total > maxBatchCommands {
		return nil, diag.Errorf(n, "redis: %d commands in one round trip is more than %d", total, maxBatchCommands)
	}
	switch {
	case s.tx:
		s.errAt = "redis: transaction: "
	case len(s.cmds)*s.repeat > 1:
		s.errAt = "redis: pipeline: "
	default:
		s.errAt = "redis: " + s.cmds[0].name + ": "
	}
	return s, nil
}

// Bind ties the step to its target and prepares its static parts. It must
// not run concurrently with Do.
func (s *batchStep) Bind(t driver.Target) error {
	tg, ok := t.(*Target)
	if !ok {
		return fmt.Errorf("redis: step %q: target is a %T, not a redis target", s.step, t)
	}
	if tg.readOnly {
		// Prepare refuses these already when it knows the target; a step
		// bound to a target it was not prepared for is refused here.
		for _, c := range s.cmds {
			if destructive[c.name] || commands[c.name].access.writes() {
				return fmt.Errorf("redis: step %q: %s writes, and target %q is read_only", s.step, c.name, tg.name)
			}
		}
	}
	s.target = tg
	dyn := false
	for _, c := range s.cmds {
		c.bind(tg.prefix)
		dyn = dyn || c.dyn
	}
	s.sends = planSends(s.cmds, s.repeat, tg.safetyTTL > 0)
	s.argc, s.starts, s.names, s.static = nil, nil, nil, nil
	k := 0
	for _, sd := range s.sends {
		n := sd.argc(tg)
		s.argc = append(s.argc, n)
		s.starts = append(s.starts, k)
		k += n
		if sd.cmd != nil {
			s.names = append(s.names, sd.cmd.name)
		} else {
			s.names = append(s.names, "EXPIRE")
		}
	}
	if !dyn {
		s.static, _, _ = s.render(nil, nil, nil)
	}
	s.pool = sync.Pool{New: func() any { return &batchScratch{} }}
	return nil
}

// render appends the round trip's arguments to argv: the step's commands
// rendered (templates into buf), each followed by its safety TTL.
func (s *batchStep) render(argv [][]byte, buf []byte, it *driver.Iteration) ([][]byte, []byte, error) {
	tg := s.target
	for _, sd := range s.sends {
		if sd.cmd == nil {
			// The key as the command named it: the same bytes.
			argv = append(argv, expireName, argv[s.starts[sd.of]+sd.key], tg.ttlArg)
			if tg.safetyNX {
				argv = append(argv, nxArg)
			}
			continue
		}
		var err error
		argv, buf, err = sd.cmd.render(argv, buf, tg.prefix, it)
		if err != nil {
			return argv, buf, err
		}
		if sd.ttl {
			argv = append(argv, exArg, tg.ttlArg)
		}
	}
	return argv, buf, nil
}

// Do renders the step's commands and sends them in one round trip. A nil
// reply is a success; any error reply fails the call. Do is safe for
// concurrent use; it touches no shared mutable state.
func (s *batchStep) Do(ctx context.Context, it *driver.Iteration) driver.Outcome {
	fast := s.target.fast
	if s.reply {
		fast = nil // the fast path reads no reply values
	}
	if s.static != nil && fast != nil {
		// Nothing to render: no scratch space needed.
		if _, at, err := fast.do(ctx, s.static, s.argc, s.tx); err != nil {
			return s.failed(err, at)
		}
		return driver.Outcome{Ops: s.ops()}
	}
	sc := s.pool.Get().(*batchScratch)
	argv := s.static
	if argv == nil {
		if it == nil || it.Templates == nil {
			s.pool.Put(sc)
			return driver.Outcome{Err: fmt.Errorf("%sno template state for iteration", s.errAt), Class: ClassTemplate}
		}
		var err error
		argv, sc.buf, err = s.render(sc.argv[:0], sc.buf[:0], it)
		sc.argv, sc.buf = argv, sc.buf[:0]
		if err != nil {
			sc.argv = argv[:0]
			s.pool.Put(sc)
			return driver.Outcome{Err: fmt.Errorf("redis: %w", err), Class: ClassTemplate}
		}
	}
	var err error
	var reply any
	at := -1
	switch {
	case fast != nil:
		_, at, err = fast.do(ctx, argv, s.argc, s.tx)
	case s.tx && s.target.cluster != nil && s.crossSlot(argv):
		err = errCrossSlot
	default:
		reply, at, err = s.doGoRedis(ctx, sc, argv)
	}
	if err == nil {
		s.pool.Put(sc)
		return driver.Outcome{Ops: s.ops(), Reply: reply}
	}
	if classify(err) == ClassRedis || fast != nil {
		// The call is over. Only a go-redis connection failure might leave
		// go-redis holding on to the arguments, so only then is the
		// scratch dropped.
		s.pool.Put(sc)
	}
	return s.failed(err, at)
}

// failed is the outcome of a call that failed with err, the error reply of
// command at of the round trip (-1: no one command's). A failed safety
// EXPIRE has a class of its own: the write itself went through, but its key
// might outlive the run.
func (s *batchStep) failed(err error, at int) driver.Outcome {
	if at >= 0 && at < len(s.sends) && s.sends[at].cmd == nil {
		return driver.Outcome{Err: fmt.Errorf("%ssafety TTL: EXPIRE after the write failed, the key may outlive the run: %w", s.errAt, err),
			Class: ClassSafetyTTL, Ops: s.ops()}
	}
	return driver.Outcome{Err: fmt.Errorf("%s%w", s.errAt, err), Class: classify(err), Ops: s.ops()}
}

// ops is how many of the plan's commands one call sends: a pipeline's rate
// in commands is ops_rate, while count and rate stay per round trip. Safety
// EXPIREs are runplan's own and do not count.
func (s *batchStep) ops() int { return len(s.cmds) * max(s.repeat, 1) }

// errCrossSlot refuses a cluster transaction whose keys are in several hash
// slots: go-redis would split it into one MULTI/EXEC per slot, silently
// giving up its atomicity. Redis itself replies the same to such a
// transaction on one node.
var errCrossSlot error = replyError("CROSSSLOT Keys in request don't hash to the same slot " +
	"(a transaction on a cluster must keep its keys in one hash slot: use a hash tag, as in {user:1}:name)")

// crossSlot reports whether the keys of the round trip are in more than
// one hash slot.
func (s *batchStep) crossSlot(argv [][]byte) bool {
	slot := -1
	for i, sd := range s.sends {
		if sd.cmd == nil {
			continue // a safety EXPIRE names a key of the command before it
		}
		for _, p := range sd.cmd.keys {
			sl := int(keySlot(argv[s.starts[i]+p]))
			if slot >= 0 && sl != slot {
				return true
			}
			slot = sl
		}
	}
	return false
}

// doGoRedis sends the round trip through go-redis (sentinel and cluster
// targets, fast_path: false, or a step with captures). at is the index of
// the command whose error is returned, -1 when the error is not one
// command's. With s.reply, reply is the step's reply (replyOf).
func (s *batchStep) doGoRedis(ctx context.Context, sc *batchScratch, argv [][]byte) (reply any, at int, err error) {
	if cap(sc.slots) < len(argv) {
		sc.slots = make([]argSlot, len(argv))
		sc.args = make([]any, len(argv))
	}
	slots, args := sc.slots[:len(argv)], sc.args[:len(argv)]
	k := 0
	for i, n := range s.argc {
		args[k] = s.names[i]
		for j := k + 1; j < k+n; j++ {
			slots[j].b = argv[j]
			args[j] = &slots[j]
		}
		k += n
	}
	c := s.target.client
	if len(s.argc) == 1 && !s.tx {
		cmd := goredis.NewCmd(ctx, args...)
		err := c.Process(ctx, cmd)
		if err == goredis.Nil {
			return nil, -1, nil
		}
		if err == nil && s.reply {
			reply = replyValue(cmd.Val())
		}
		return reply, 0, err
	}
	var pipe goredis.Pipeliner
	if s.tx {
		pipe = c.TxPipeline()
	} else {
		pipe = c.Pipeline()
	}
	k = 0
	for _, n := range s.argc {
		_ = pipe.Process(ctx, goredis.NewCmd(ctx, args[k:k+n]...))
		k += n
	}
	cmds, err := pipe.Exec(ctx)
	// A command refused while a transaction was queued makes EXEC abort,
	// and go-redis gives EXECABORT to the commands before it too: the
	// refusal is the error to report, as the fast path does.
	first := -1
	for i, cmd := range cmds {
		e := cmd.Err()
		if e == nil || errors.Is(e, goredis.Nil) {
			continue
		}
		if !strings.HasPrefix(e.Error(), "EXECABORT") {
			return nil, i, e
		}
		if first < 0 {
			first = i
		}
	}
	if first >= 0 {
		return nil, first, cmds[first].Err()
	}
	if errors.Is(err, goredis.Nil) {
		err = nil
	}
	if err == nil && s.reply {
		reply = s.replyOf(cmds)
	}
	return reply, -1, err
}

// replyOf is the step's reply from the commands of its round trip: the
// reply of its command when it sends one (no pipeline, no transaction),
// else the list of the replies of its commands, in order; runplan's
// safety EXPIREs are left out, a nil reply is nil.
func (s *batchStep) replyOf(cmds []goredis.Cmder) any {
	out := make([]any, 0, s.ops())
	for i, cmd := range cmds {
		if i >= len(s.sends) || s.sends[i].cmd == nil {
			continue
		}
		if c, ok := cmd.(*goredis.Cmd); ok && c.Err() == nil {
			out = append(out, replyValue(c.Val()))
		} else {
			out = append(out, nil)
		}
	}
	if len(s.cmds) == 1 && s.repeat == 1 && !s.tx && len(out) == 1 {
		return out[0]
	}
	return out
}

// replyValue is a go-redis reply as captures read it: RESP3 maps (HGETALL,
// CONFIG GET...) become map[string]any, their keys in text, and lists are
// converted the same way inside; strings, int64, float64, bool and nil stay
// as they are.
func replyValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = replyValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = replyValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = replyValue(e)
		}
		return out
	}
	return v
}
