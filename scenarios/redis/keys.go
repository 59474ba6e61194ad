package redis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Key namespaces and the safety TTL: how runplan keeps the rule "on a target
// runplan did not start, delete only keys this run wrote" by construction.
//
//   - Every key a run writes is under runNamespace(key_prefix, run id), so the
//     cleanup's SCAN MATCH can only find keys of this run.
//   - A read_only target uses keys exactly as written under key_prefix, runs
//     read commands only (see access), and is never cleaned up.
//   - On a target runplan did not start, every key a run writes carries an
//     expiry (the safety TTL), so that keys left by a killed run go away.

// runNamespace returns the prefix every key of run runID is put under: the
// user's keyPrefix first — so that an ACL user limited to a pattern such as
// ~app:* still reaches its keys — then runplan:<run id>:.
func runNamespace(keyPrefix, runID string) string {
	return keyPrefix + "runplan:" + runID + ":"
}

// Safety TTL bounds, documented in docs/REDIS.md ("Keys and safety").
const (
	// safetyMarginMin and safetyMarginDiv make the margin over the run's
	// planned length: max(10 min, 10 % of it). It covers the prefill, the
	// opening of targets and a late end.
	safetyMarginMin = 10 * time.Minute
	safetyMarginDiv = 10
	// safetyTTLUnplanned is the safety TTL of a run whose length is not
	// planned (a scenario bounded by an iteration count only).
	safetyTTLUnplanned = time.Hour
	// minSafetyTTL is the least safety_ttl a plan may set.
	minSafetyTTL = time.Second
)

// defaultSafetyTTL returns the safety TTL of a run planned to last runLength
// (0: unknown): the length plus max(10 min, 10 %), in whole seconds.
func defaultSafetyTTL(runLength time.Duration) time.Duration {
	if runLength <= 0 {
		return safetyTTLUnplanned
	}
	return roundUpSecond(runLength + max(safetyMarginMin, runLength/safetyMarginDiv))
}

func roundUpSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1) / time.Second * time.Second
}

// setExpiry is what a SET command says about its key's expiry.
type setExpiry uint8

const (
	// setNoExpiry: no expiry option; the key would lose any expiry it had.
	setNoExpiry setExpiry = iota
	// setOwnExpiry: EX, PX, EXAT or PXAT: the command sets one itself.
	setOwnExpiry
	// setKeepOrUnknown: KEEPTTL (which keeps none on a new key), or an
	// option rendered per call whose meaning is unknown before the call.
	setKeepOrUnknown
)

// setExpiryOf reads the options of SET command s (SET key value [NX|XX]
// [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]).
func setExpiryOf(s *cmdSpec) setExpiry {
	out := setNoExpiry
	for i := 3; i < len(s.args); i++ {
		a := s.args[i]
		if a.tpl != nil || a.size != nil {
			return setKeepOrUnknown
		}
		switch strings.ToUpper(a.src) {
		case "EX", "PX", "EXAT", "PXAT":
			out = setOwnExpiry
			i++ // its argument, which may be rendered per call
		case "KEEPTTL":
			return setKeepOrUnknown
		}
	}
	return out
}

// safetyKeys returns the argument positions of c's keys that may be left
// without an expiry (created, or their expiry dropped) by c, and so need the
// safety TTL after it; appendTTL is true when the TTL goes into c itself
// (a SET without an expiry option gets EX n).
func safetyKeys(c *cmdSpec) (keys []int, appendTTL bool) {
	switch commands[c.name].access {
	case aGrow:
		return c.keys, false
	case aGrowDest:
		if len(c.keys) > 0 {
			return c.keys[len(c.keys)-1:], false
		}
	case aSet:
		switch c.setTTL {
		case setNoExpiry:
			return nil, true
		case setKeepOrUnknown:
			return c.keys, false
		}
	}
	return nil, false
}

// send is one command of a round trip: a command of the step, or a safety
// EXPIRE of a key of an earlier one.
type send struct {
	cmd *cmdSpec // the step's command; nil for a safety EXPIRE
	ttl bool     // append the safety TTL to cmd as EX n (a SET without expiry)
	of  int      // safety EXPIRE: index in the round trip of the command whose key it is
	key int      // safety EXPIRE: the key's argument position in that command
}

// planSends lays out a round trip: cmds, repeat times, each followed — when
// safety is set — by a safety EXPIRE for every key it may leave without an
// expiry. A static key written several times in the round trip gets one
// EXPIRE, after the last command that writes it: nothing in between can
// drop an expiry that EXPIRE set, and the server works no more than needed.
func planSends(cmds []*cmdSpec, repeat int, safety bool) []send {
	var out []send
	last := map[string]int{} // static key → index of the last command writing it
	if safety {
		i := 0
		for range repeat {
			for _, c := range cmds {
				keys, _ := safetyKeys(c)
				for _, p := range keys {
					if a := c.args[p]; a.tpl == nil {
						last[a.src] = i
					}
				}
				i++
			}
		}
	}
	i := 0
	for range repeat {
		for _, c := range cmds {
			keys, appendTTL := safetyKeys(c)
			at := len(out)
			out = append(out, send{cmd: c, ttl: safety && appendTTL})
			if safety {
				for _, p := range keys {
					if a := c.args[p]; a.tpl == nil {
						if last[a.src] != i {
							continue
						}
						last[a.src] = -1 // once, even if the command names the key twice
					}
					out = append(out, send{of: at, key: p})
				}
			}
			i++
		}
	}
	return out
}

// Arguments of the safety TTL's commands.
var (
	expireName = []byte("EXPIRE")
	exArg      = []byte("EX")
	nxArg      = []byte("NX")
)

// argc returns how many arguments the send has on target t.
func (sd send) argc(t *Target) int {
	switch {
	case sd.cmd == nil && t.safetyNX:
		return 4
	case sd.cmd == nil:
		return 3
	case sd.ttl:
		return len(sd.cmd.args) + 2
	}
	return len(sd.cmd.args)
}

// probeExpireNX asks the server whether EXPIRE takes NX (Redis 7.0 and
// later): EXPIRE of a key of the run's namespace that does not exist, which
// changes nothing. Older servers answer "wrong number of arguments".
func (t *Target) probeExpireNX(ctx context.Context) (bool, error) {
	err := t.client.Do(ctx, "EXPIRE", t.prefix+"safety-ttl-probe", 1, "NX").Err()
	if err == nil {
		return true, nil
	}
	if _, ok := errors.AsType[goredis.Error](err); ok {
		msg := strings.ToLower(err.Error())
		if strings.Contains(msg, "wrong number of arguments") || strings.Contains(msg, "syntax error") ||
			strings.Contains(msg, "unsupported option") {
			return false, nil
		}
	}
	return false, err
}

// setSafetyTTL arms the safety TTL of a target runplan did not start.
func (t *Target) setSafetyTTL(ttl time.Duration, nx bool) {
	t.safetyTTL, t.safetyNX = ttl, nx
	t.ttlArg = strconv.AppendInt(nil, int64(ttl/time.Second), 10)
}

// safetyExpiry returns the expiry of a key written with ttl (0: none asked
// for): ttl itself, or the safety TTL.
func (t *Target) safetyExpiry(ttl time.Duration) time.Duration {
	if ttl > 0 {
		return ttl
	}
	return t.safetyTTL
}

// armSafetyTTL gives every key the run writes an expiry of ttl, and finds
// out whether the server takes EXPIRE ... NX. A server that does not (Redis
// before 7.0) gets plain EXPIRE, which also replaces an expiry the key
// already had: said in the log, since it can lengthen a TTL the plan set.
func (t *Target) armSafetyTTL(ctx context.Context, ttl time.Duration) {
	nx, err := t.probeExpireNX(ctx)
	switch {
	case err != nil:
		// Not an old server's refusal (an ACL without EXPIRE, say): assume
		// a current server; a step that needs EXPIRE then fails with class
		// safety_ttl and the server's reason.
		nx = true
		t.logf("redis: target %q: could not ask whether EXPIRE takes NX (%v); assuming it does", t.name, t.scrub(err))
	case !nx:
		t.logf("redis: target %q: the server has no EXPIRE ... NX (Redis before 7.0): the safety TTL is set with plain EXPIRE after each write, "+
			"which replaces an expiry the plan gave the key earlier", t.name)
	}
	t.setSafetyTTL(ttl, nx)
}

// safetyNote describes the safety TTL for the log.
func (t *Target) safetyNote() string {
	if t.safetyTTL <= 0 {
		return ""
	}
	return ", each written key expiring within " + t.safetyTTL.String() + " (safety TTL)"
}
