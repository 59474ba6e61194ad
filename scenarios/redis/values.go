package redis

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
)

const (
	// maxValueSize is Redis's own limit on a string (proto-max-bulk-len).
	maxValueSize = 512 << 20
	// valueVariants is how many different values of one size a generator
	// hands out: values are windows of a shared random pattern, at one of
	// this many offsets.
	valueVariants = 4096
)

// sizeSpec is a value size: fixed, a uniform range, or a weighted list of
// either. It is immutable once parsed and safe for concurrent use.
type sizeSpec struct {
	ranges []sizeRange
	total  float64 // sum of the weights
	max    int
}

type sizeRange struct {
	lo, hi int     // inclusive
	cum    float64 // cumulative weight, up to and including this range
}

// fixedSize returns the spec of a single size.
func fixedSize(n int) sizeSpec {
	return sizeSpec{ranges: []sizeRange{{lo: n, hi: n, cum: 1}}, total: 1, max: n}
}

// fixed reports whether the spec always gives the same size.
func (s *sizeSpec) fixed() bool { return len(s.ranges) == 1 && s.ranges[0].lo == s.ranges[0].hi }

// pick draws a size; r may be nil for the first range's low end.
func (s *sizeSpec) pick(r *rand.Rand) int {
	if s.fixed() || r == nil {
		return s.ranges[0].lo
	}
	rg := s.ranges[0]
	if len(s.ranges) > 1 {
		x := r.Float64() * s.total
		for _, c := range s.ranges {
			rg = c
			if x < c.cum {
				break
			}
		}
	}
	if rg.hi == rg.lo {
		return rg.lo
	}
	return rg.lo + r.IntN(rg.hi-rg.lo+1)
}

// parseSize decodes a value size:
//
//	512                               # fixed
//	{min: 100, max: 1000}             # uniform in the range
//	[{size: 100, weight: 9}, {min: 1000, max: 5000, weight: 1}, 64]
//	                                  # weighted (a bare size weighs 1)
func parseSize(n *yaml.Node, what string) (sizeSpec, error) {
	n = valueNode(n)
	if n != nil && n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			return sizeSpec{}, diag.Errorf(n, "redis: %s: empty list of sizes", what)
		}
		var s sizeSpec
		var errs []error
		for _, item := range n.Content {
			rg, w, err := parseSizeItem(valueNode(item), what, true)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.total += w
			rg.cum = s.total
			s.ranges = append(s.ranges, rg)
			s.max = max(s.max, rg.hi)
		}
		return s, joinErrors(errs)
	}
	rg, _, err := parseSizeItem(n, what, false)
	if err != nil {
		return sizeSpec{}, err
	}
	rg.cum = 1
	return sizeSpec{ranges: []sizeRange{rg}, total: 1, max: rg.hi}, nil
}

// rangeOptions are a size range as written: {min, max}.
type rangeOptions struct {
	Min int `yaml:"min" min:"0" max:"536870912"` // maxValueSize
	Max int `yaml:"max" min:"0" max:"536870912"`
}

// weightedOptions are an item of a weighted list of sizes as written:
// {size, weight} or {min, max, weight}.
type weightedOptions struct {
	Size   int     `yaml:"size" min:"0" max:"536870912"` // maxValueSize
	Min    int     `yaml:"min" min:"0" max:"536870912"`
	Max    int     `yaml:"max" min:"0" max:"536870912"`
	Weight float64 `yaml:"weight" decode:"positive"`
}

// sizeMessage words the decoder's problems in a size (what) as the driver
// always has: "redis: value_size min must be between 0 and 536870912".
func sizeMessage(what string) func(p decode.Problem) string {
	return func(p decode.Problem) string {
		if len(p.Path) != 1 {
			return p.String()
		}
		name := what + " " + p.Path[0]
		switch {
		case p.Path[0] == "weight":
			return fmt.Sprintf("redis: %s: expected a positive number, got %s", name, describe(p.Node))
		case p.Kind == decode.Type:
			return fmt.Sprintf("redis: %s: expected an integer, got %s", name, describe(p.Node))
		case p.Kind == decode.OutOfRange:
			return fmt.Sprintf("redis: %s must be between %s and %s, got %s", name, p.Min, p.Max, p.Value())
		}
		return p.String()
	}
}

func parseSizeItem(n *yaml.Node, what string, weighted bool) (sizeRange, float64, error) {
	if n != nil && n.Kind == yaml.ScalarNode {
		v, err := decodeInt(n, what, 0, maxValueSize)
		return sizeRange{lo: v, hi: v}, 1, err
	}
	form := "a size in bytes, {min, max}, or a weighted list such as [{size: 100, weight: 9}, {size: 10000, weight: 1}]"
	if n == nil || n.Kind != yaml.MappingNode {
		return sizeRange{}, 0, diag.Errorf(n, "redis: %s: expected %s, got %s", what, form, describe(n))
	}
	var o any = &rangeOptions{}
	if weighted {
		o = &weightedOptions{Weight: 1}
	}
	f, err := decode.Decode(n, o, decode.Options{Prefix: "redis: ", Message: sizeMessage(what)})
	if err != nil {
		return sizeRange{}, 0, err
	}
	var rg sizeRange
	w := 1.0
	switch o := o.(type) {
	case *rangeOptions:
		rg.lo, rg.hi = o.Min, o.Max
	case *weightedOptions:
		rg.lo, rg.hi, w = o.Min, o.Max, o.Weight
		if f.Has("size") {
			rg.lo, rg.hi = o.Size, o.Size
		}
	}
	size, lo, hi := f.Key("size"), f.Key("min"), f.Key("max")
	switch {
	case size != nil && (lo != nil || hi != nil):
		return rg, 0, diag.Errorf(size, "redis: %s: give size, or min and max, not both", what)
	case size == nil && (lo == nil || hi == nil):
		return rg, 0, diag.Errorf(n, "redis: %s: expected %s", what, form)
	case rg.lo > rg.hi:
		return rg, 0, diag.Errorf(lo, "redis: %s: min %d is more than max %d", what, rg.lo, rg.hi)
	}
	return rg, w, nil
}

// valueGen hands out values of sizes drawn from a sizeSpec: windows of a
// shared read-only random pattern, so that a value costs no allocation and
// no copy. It is immutable and safe for concurrent use.
type valueGen struct {
	size    sizeSpec
	pattern []byte // at least size.max + valueVariants bytes
}

func newValueGen(s sizeSpec) *valueGen {
	return &valueGen{size: s, pattern: pattern(s.max + valueVariants)}
}

// value returns a value; r drives the size and the window (nil: the first
// window of the first size). The slice must not be modified.
func (g *valueGen) value(r *rand.Rand) []byte {
	n, off := g.size.draw(r)
	return g.pattern[off : off+n : off+n]
}

// draw draws a value's size and its window in the pattern from r (nil:
// the first size, the first window): what value draws, and what render
// draws to show the value by its size.
func (s *sizeSpec) draw(r *rand.Rand) (n, off int) {
	n = s.pick(r)
	if r != nil {
		off = r.IntN(valueVariants)
	}
	return n, off
}

var (
	patternMu  sync.Mutex
	patternBuf []byte
)

// pattern returns a shared pseudo-random alphanumeric buffer of at least n
// bytes, the same for every run. Callers must not modify it.
func pattern(n int) []byte {
	patternMu.Lock()
	defer patternMu.Unlock()
	if len(patternBuf) >= n {
		return patternBuf
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, max(n, 64<<10))
	r := rand.New(rand.NewPCG(0x72756e706c616e, 0x76616c756573))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	patternBuf = b
	return b
}

// randOf returns the iteration's random source, nil without one.
func randOf(it *driver.Iteration) *rand.Rand {
	if it == nil {
		return nil
	}
	return it.Rand
}
