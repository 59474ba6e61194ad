package redis

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/driver"
)

// renderContext is what rendering a step needs of its target, known at
// Prepare (no Open): the key namespace and the safety TTL.
type renderContext struct {
	// prefix is what every key is put under: key_prefix +
	// runplan:<run id>: (the run id of the Program: "<run-id>" for
	// render), or key_prefix alone on a read_only target.
	prefix string
	// safety is the safety TTL of keys written on a server runplan did not
	// start; 0 on the servers it starts and on read_only targets.
	safety time.Duration
}

func (c *Config) renderContext() renderContext {
	cfg := c.cfg
	if cfg.readOnly {
		return renderContext{prefix: cfg.keyPrefix}
	}
	rc := renderContext{prefix: runNamespace(cfg.keyPrefix, cmp.Or(c.spec.RunID, "<run-id>"))}
	if !cfg.owned() {
		rc.safety = cmp.Or(cfg.safetyTTL, defaultSafetyTTL(c.spec.RunLength))
	}
	return rc
}

// Render shows the round trip Do would send for iteration it, one command
// a line, quoted as redis-cli reads them: the keys under the run's
// namespace, a generated value by its size (<512 random bytes>), the safety
// TTL runplan adds on servers it did not start (EX n on a SET, an EXPIRE
// after other writes; sent with NX where the server takes it), MULTI and
// EXEC around a transaction. It draws what Do draws, in the same order. No
// I/O; it works before Bind. Safe for concurrent use.
func (s *batchStep) Render(it *driver.Iteration) ([]string, error) {
	rc := s.rc
	sends := planSends(s.cmds, s.repeat, rc.safety > 0)
	var lines []string
	if n := len(s.cmds) * s.repeat; n > 1 && !s.tx {
		lines = append(lines, fmt.Sprintf("# pipeline: %d commands in one round trip", n))
	}
	if s.tx {
		lines = append(lines, "MULTI")
	}
	rendered := make([][]string, len(sends))
	for i, sd := range sends {
		if sd.cmd == nil {
			args := []string{"EXPIRE", rendered[sd.of][sd.key], ttlSeconds(rc.safety)}
			lines = append(lines, strings.Join(args, " ")+"   # safety TTL")
			continue
		}
		args, err := sd.cmd.renderText(rc.prefix, it)
		if err != nil {
			return lines, fmt.Errorf("redis: %w", err)
		}
		rendered[i] = args
		line := strings.Join(args, " ")
		if sd.ttl {
			line += " EX " + ttlSeconds(rc.safety) + "   # safety TTL"
		}
		lines = append(lines, line)
	}
	if s.tx {
		lines = append(lines, "EXEC")
	}
	return lines, nil
}

// ttlSeconds is a safety TTL as EXPIRE and EX take it.
func ttlSeconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// renderText renders the command's arguments as text, each quoted as
// redis-cli reads it, drawing what render draws. A generated value shows
// as <N random bytes>: unquoted, so it cannot be taken for an argument
// (one with a space would be quoted).
func (s *cmdSpec) renderText(prefix string, it *driver.Iteration) ([]string, error) {
	out := make([]string, 0, len(s.args))
	for i := range s.args {
		a := &s.args[i]
		switch {
		case a.size != nil:
			n, _ := a.size.draw(randOf(it))
			out = append(out, fmt.Sprintf("<%d random bytes>", n))
		case a.tpl != nil:
			if it == nil || it.Templates == nil {
				return out, fmt.Errorf("%s argument %d: no template state for iteration", s.name, i)
			}
			v, err := a.tpl.Render(it.Templates)
			if err != nil {
				return out, fmt.Errorf("%s argument %d %q: %w", s.name, i, a.src, err)
			}
			if a.key {
				v = prefix + v
			}
			out = append(out, quoteArg(v))
		case a.key:
			out = append(out, quoteArg(prefix+a.src))
		default:
			out = append(out, quoteArg(a.src))
		}
	}
	return out, nil
}

// Render shows the lookup Do would make for iteration it, and the fill it
// makes on a miss. It assumes a miss and draws the fill value's size as Do
// does on one: after a hit, a run draws nothing, so the values of later
// steps may differ from those shown when the key is there. No I/O; it
// works before Bind. Safe for concurrent use.
func (s *cacheGetStep) Render(it *driver.Iteration) ([]string, error) {
	key := s.key.Source()
	if !s.key.Static() {
		if it == nil || it.Templates == nil {
			return nil, fmt.Errorf("redis: cache_get: no template state for iteration")
		}
		v, err := s.key.Render(it.Templates)
		if err != nil {
			return nil, fmt.Errorf("redis: cache_get: key %q: %w", s.key.Source(), err)
		}
		key = v
	}
	key = quoteArg(s.rc.prefix + key)
	lines := []string{"GET " + key}
	if !s.fill {
		return lines, nil
	}
	n, _ := s.size.draw(randOf(it))
	fill := fmt.Sprintf("SET %s <%d random bytes>", key, n)
	ttl := s.ttl
	if ttl <= 0 {
		ttl = s.rc.safety
	}
	for _, a := range expiryArgs(ttl) {
		fill += " " + fmt.Sprint(a)
	}
	if s.ttl <= 0 && s.rc.safety > 0 {
		fill += "   # safety TTL"
	}
	if s.loadDelay > 0 {
		lines = append(lines, "# on a miss: wait "+s.loadDelay.String()+" (load_delay), then")
	} else {
		lines = append(lines, "# on a miss:")
	}
	return append(lines, fill), nil
}

// quoteArg quotes a command argument as redis-cli reads it: bare when it
// is printable ASCII without spaces or quotes, else in double quotes with
// \", \\, \n, \r, \t, \a, \b and \xHH escapes.
func quoteArg(s string) string {
	bare := s != ""
	for i := 0; i < len(s) && bare; i++ {
		c := s[i]
		bare = c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '\\'
	}
	if bare {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c < ' ' || c >= 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
