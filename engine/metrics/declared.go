package metrics

import (
	"math"
	"time"

	"github.com/runplan/runplan/engine/driver"
)

// Figure is one declared step metric (driver.StepMetric) over a step or a
// scenario. Figures are values: safe to copy and to share once built.
type Figure struct {
	driver.StepMetric
	// N is a counter's sum, a duration's in nanoseconds, a ratio's
	// numerator; Den a ratio's denominator.
	N, Den int64
}

// Ratio is a ratio's value, NaN when its denominator is 0 (unknown).
func (f Figure) Ratio() float64 {
	if f.Den == 0 {
		return math.NaN()
	}
	return float64(f.N) / float64(f.Den)
}

// Duration is a duration's value.
func (f Figure) Duration() time.Duration { return time.Duration(f.N) }

// Zero reports whether the figure has nothing to show: a counter or a
// duration of 0, a ratio over nothing. Reports leave such figures out, as
// they leave out a cache's hits on a step that looks nothing up.
func (f Figure) Zero() bool {
	if f.Kind == driver.Ratio {
		return f.Den == 0
	}
	return f.N == 0
}

// Figures evaluates the declarations decl over the sums c (slots in
// declaration order, see driver.Counters), in declaration order.
func Figures(decl []driver.StepMetric, c *driver.Counters) []Figure {
	if len(decl) == 0 {
		return nil
	}
	out := make([]Figure, 0, len(decl))
	slot := 0
	for _, m := range decl {
		if m.Kind == driver.Ratio {
			out = append(out, Figure{StepMetric: m})
			continue
		}
		if slot < len(c) {
			out = append(out, Figure{StepMetric: m, N: c[slot]})
		}
		slot++
	}
	for i, f := range out {
		if f.Kind != driver.Ratio {
			continue
		}
		out[i].N = sumOf(out, f.Numerator)
		for _, d := range f.Denominator {
			out[i].Den += sumOf(out, d)
		}
	}
	return out
}

func sumOf(fs []Figure, name string) int64 {
	for _, f := range fs {
		if f.Name == name && f.Kind != driver.Ratio {
			return f.N
		}
	}
	return 0
}

// Figures are the series' declared figures (nil when it declares none).
func (st *Stats) Figures() []Figure { return Figures(st.Metrics, &st.Counters) }

// MergeFigures adds up figures of the same name (a scenario's over its
// steps): counters, durations and both sides of ratios; the order is that
// in which names first appear. A name declared with different kinds keeps
// the first kind and adds nothing of the others.
func MergeFigures(lists ...[]Figure) []Figure {
	var out []Figure
	for _, l := range lists {
		for _, f := range l {
			i := FigureIndex(out, f.Name)
			switch {
			case i < 0:
				out = append(out, f)
			case out[i].Kind == f.Kind:
				out[i].N += f.N
				out[i].Den += f.Den
			}
		}
	}
	return out
}

// FigureIndex is the index of the figure named name in fs, -1 if none.
func FigureIndex(fs []Figure, name string) int {
	for i, f := range fs {
		if f.Name == name {
			return i
		}
	}
	return -1
}
