package sink

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is a rate limit: at most Count requests per Per, in fixed windows
// that start with the first request after the previous window ended (the
// way Discord's buckets behave). Count 0 means "the default" in Options;
// a negative Count (NoLimit) means no limit. A Limit is a plain value.
type Limit struct {
	Count int
	Per   time.Duration
}

// NoLimit turns a limit off.
var NoLimit = Limit{Count: -1}

// Off reports whether l imposes nothing.
func (l Limit) Off() bool { return l.Count < 0 }

// String formats l as ParseLimit reads it: "5/2s", or "off".
func (l Limit) String() string {
	switch {
	case l.Off():
		return "off"
	case l.Count == 0:
		return "default"
	}
	return strconv.Itoa(l.Count) + "/" + l.Per.String()
}

// ErrBadLimit explains the limit syntax.
var ErrBadLimit = errors.New(`use a count per period, like 5/2s, 30/1m or 50/s, or "off"`)

// ParseLimit reads "COUNT/PERIOD" (5/2s, 30/1m, 50/s: a Go duration, or a
// bare unit s, m or h meaning one of it) or "off". It is a pure function.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return NoLimit, nil
	}
	cs, ps, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, ErrBadLimit
	}
	n, err := strconv.Atoi(strings.TrimSpace(cs))
	if err != nil || n < 1 {
		return Limit{}, fmt.Errorf("%q: the count must be a positive integer: %w", s, ErrBadLimit)
	}
	ps = strings.TrimSpace(ps)
	switch ps {
	case "s", "m", "h":
		ps = "1" + ps
	}
	d, err := time.ParseDuration(ps)
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("%q: the period must be a positive duration: %w", s, ErrBadLimit)
	}
	return Limit{Count: n, Per: d}, nil
}

// window is a fixed-window counter for one Limit. It is safe for concurrent
// use.
type window struct {
	lim   Limit
	mu    sync.Mutex
	start time.Time // zero: no window open
	n     int
}

func newWindow(l Limit) *window { return &window{lim: l} }

// take counts a request at now when it fits. It returns whether it fits,
// the requests left in the window afterwards and the time until the window
// resets.
func (w *window) take(now time.Time) (ok bool, remaining int, resetAfter time.Duration) {
	if w.lim.Off() {
		return true, 0, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.start.IsZero() || !now.Before(w.start.Add(w.lim.Per)) {
		w.start, w.n = now, 0
	}
	reset := w.start.Add(w.lim.Per).Sub(now)
	if w.n >= w.lim.Count {
		return false, 0, reset
	}
	w.n++
	return true, w.lim.Count - w.n, reset
}

// seconds formats d in seconds with three decimals, rounded up so that a
// client waiting that long never comes back early.
func seconds(d time.Duration) string {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

// wholeSeconds is d rounded up to whole seconds, at least 1, for
// Retry-After.
func wholeSeconds(d time.Duration) string {
	s := (d + time.Second - 1) / time.Second
	return strconv.FormatInt(int64(max(s, 1)), 10)
}
