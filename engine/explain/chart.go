package explain

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runplan/runplan/schema"
)

// chartWidth is the most columns a timeline chart takes.
const chartWidth = 60

// steps are the times a column of a chart may stand for: round ones.
var steps = []time.Duration{
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// levels draw a measured load, lowest to highest; warm the same load in its
// warmup (run, not measured).
var (
	levels = []rune("▁▂▃▄▅▆▇█")
	warm   = []rune("░░░▒▒▒▓▓")
)

// timeline is the chart of the plan's load and faults on one time axis.
type timeline struct {
	step time.Duration
	cols int
	// rows are the chart's lines: label, value and bars.
	rows [][3]string
}

// chart lays the plan's scenarios and faults out on one time axis; nil
// when nothing in the plan has a known end.
func chart(p *Plan) *timeline {
	end := p.End()
	if end <= 0 {
		return nil
	}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if (end+s-1)/s <= chartWidth {
			step = s
			break
		}
	}
	tl := &timeline{step: step, cols: int((end + step - 1) / step)}
	for i := range p.Scenarios {
		s := &p.Scenarios[i]
		tl.rows = append(tl.rows, [3]string{s.Name, loadLabel(s), tl.scenarioBars(s)})
	}
	for _, f := range p.Faults {
		tl.rows = append(tl.rows, [3]string{f.Name, "fault", tl.faultBars(f, end)})
	}
	return tl
}

// loadLabel is the scenario's peak load with its unit.
func loadLabel(s *Scenario) string {
	if s.End() == 0 {
		return ""
	}
	v := number(s.Peak())
	switch s.Unit() {
	case "/s":
		return v + "/s"
	case "VUs":
		if v == "1" {
			return "1 VU"
		}
		return v + " VUs"
	}
	return v + " " + s.Unit()
}

func (tl *timeline) scenarioBars(s *Scenario) string {
	if s.End() == 0 {
		first := int(s.Start / tl.step)
		return strings.Repeat(" ", first) + "▶ until " + iterations(s) + " are done (length unknown)"
	}
	peak := s.Peak()
	var b strings.Builder
	for c := range tl.cols {
		t0 := time.Duration(c) * tl.step
		v, on := s.peak(t0, t0+tl.step)
		switch {
		case !on:
			b.WriteByte(' ')
		case v <= 0 || peak <= 0:
			b.WriteString("·")
		default:
			lv := min(int(v/peak*float64(len(levels))+0.999999)-1, len(levels)-1)
			lv = max(lv, 0)
			if t0 < s.Start+s.Warmup {
				b.WriteRune(warm[lv])
			} else {
				b.WriteRune(levels[lv])
			}
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func (tl *timeline) faultBars(f Fault, end time.Duration) string {
	stop := f.At + f.For
	if f.For <= 0 {
		stop = max(end, f.At+1)
	}
	mark := "█"
	if f.Probability < 1 {
		mark = "▒"
	}
	var b strings.Builder
	for c := range tl.cols {
		t0 := time.Duration(c) * tl.step
		if t0 < stop && t0+tl.step > f.At {
			b.WriteString(mark)
		} else {
			b.WriteByte(' ')
		}
	}
	s := strings.TrimRight(b.String(), " ")
	if f.For <= 0 {
		s += "…"
	}
	return s
}

// lines renders the chart: an axis of times, then one line a row, names
// and values padded into columns.
func (tl *timeline) lines() []string {
	nameW, valW := 0, 0
	for _, r := range tl.rows {
		nameW = max(nameW, width(r[0]))
		valW = max(valW, width(r[1]))
	}
	pad := nameW + 2 + valW + 2
	var labels, ticks strings.Builder
	labels.WriteString(strings.Repeat(" ", pad))
	ticks.WriteString(strings.Repeat(" ", pad))
	at := 0
	for c := 0; c <= tl.cols; c += 10 {
		l := schema.FormatDuration(time.Duration(c) * tl.step)
		if c < at {
			continue
		}
		labels.WriteString(strings.Repeat(" ", c-at) + l)
		at = c + width(l)
	}
	for c := 0; c <= tl.cols; c++ {
		switch {
		case c%10 == 0:
			ticks.WriteString("┬")
		default:
			ticks.WriteString("─")
		}
	}
	out := []string{labels.String(), ticks.String()}
	for _, r := range tl.rows {
		line := r[0] + strings.Repeat(" ", nameW-width(r[0])+2) + strings.Repeat(" ", valW-width(r[1])) + r[1] + "  " + r[2]
		out = append(out, strings.TrimRight(line, " "))
	}
	return out
}

// width is how many columns s takes (one a rune: the chart's runes are
// all narrow).
func width(s string) int { return len([]rune(s)) }

// number writes a count or a rate without needless decimals.
func number(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// iterations says a scenario's planned iteration count.
func iterations(s *Scenario) string {
	if s.PerVU {
		return fmt.Sprintf("%d iterations per VU", s.Iterations)
	}
	return fmt.Sprintf("%d iterations", s.Iterations)
}
