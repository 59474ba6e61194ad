package report

import (
	"math"

	"github.com/runplan/runplan/engine/metrics"
)

// Chart data for the HTML pages. Go computes every point; the page's script
// only hands them to uPlot, so what a chart shows is tested here, in Go.

// faultWindow is a period during which a fault was active, in seconds
// from the run's start (the time series' clock), shaded on time charts.
type faultWindow struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// faultWindows are the faults that were applied.
func faultWindows(r *Report) []faultWindow {
	var out []faultWindow
	for _, f := range r.Faults {
		if f.Applied && f.End > f.Start {
			out = append(out, faultWindow{Name: f.Name, Start: f.Start, End: f.End})
		}
	}
	return out
}

// chart is one uPlot chart. Kind is "time" (x in seconds from the run's
// start, fault windows shaded), "percentile" (x in nines: -log10(1-q)) or
// "date" (x in Unix seconds).
type chart struct {
	ID     string        `json:"id"`
	Kind   string        `json:"kind"`
	Title  string        `json:"title"`
	Log    bool          `json:"log,omitempty"`
	X      []float64     `json:"x"`
	Series []chartSeries `json:"series"`
	// Faults are shaded on time charts.
	Faults []faultWindow `json:"faults,omitempty"`
}

// chartSeries is one line. Unit is "ms", "/s", "%" or "" and picks the
// value format; Axis 1 puts it on a second y axis at the right. Points
// draws markers and no line (pass and fail marks of a trend).
type chartSeries struct {
	Label  string     `json:"label"`
	Color  string     `json:"color"`
	Unit   string     `json:"unit,omitempty"`
	Axis   int        `json:"axis,omitempty"`
	Points bool       `json:"points,omitempty"`
	Dash   bool       `json:"dash,omitempty"`
	Values []*float64 `json:"values"`
}

// Colours, readable on white and distinct for colour-blind readers
// (GitHub Primer's data-visualisation hues).
const (
	colorBlue   = "#0969da"
	colorGreen  = "#1a7f37"
	colorOrange = "#bc4c00"
	colorPurple = "#8250df"
	colorRed    = "#cf222e"
	colorGrey   = "#57606a"
)

func val(f float64) *float64 { return &f }

// logVal is a value for a log-scale chart: none where it is not positive.
func logVal(f float64) *float64 {
	if f <= 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// timeCharts are a series' throughput and latency percentiles over time;
// none when it has no points. An interval outside the scenario's measured
// span (before its start, in its warmup, after its end) is a gap; a
// partial one (the span began or ended inside it) is not joined to the
// line but drawn as a marker of its own, its rates over its measured part.
func timeCharts(id, name string, s Stats, interval float64, faults []faultWindow) []chart {
	if len(s.Series) == 0 {
		return nil
	}
	x := make([]float64, len(s.Series))
	rate := make([]*float64, len(s.Series))
	errs := make([]*float64, len(s.Series))
	partRate := make([]*float64, len(s.Series))
	partErrs := make([]*float64, len(s.Series))
	anyPartial := false
	var p50, p90, p99, mx []*float64
	anyLatency := false
	for i, p := range s.Series {
		x[i] = p.T
		measured := interval // a report from before points had widths
		if p.Measured != nil {
			measured = *p.Measured
		}
		if p.Rate != nil && measured > 0 {
			r, e := val(*p.Rate), val(math.Round(float64(p.Errors)/measured*1000)/1000)
			if p.Partial {
				partRate[i], partErrs[i], anyPartial = r, e, true
			} else {
				rate[i], errs[i] = r, e
			}
		}
		if p.Latency == nil {
			p50, p90, p99, mx = append(p50, nil), append(p90, nil), append(p99, nil), append(mx, nil)
			continue
		}
		anyLatency = true
		p50 = append(p50, logVal(p.Latency.P50))
		p90 = append(p90, logVal(p.Latency.P90))
		p99 = append(p99, logVal(p.Latency.P99))
		mx = append(mx, logVal(p.Latency.Max))
	}
	basis := "service time"
	if s.LatencyBasis == "response" {
		basis = "response time, from the scheduled start"
	}
	out := []chart{{
		ID: id + "-throughput", Kind: "time", Title: name + ": throughput", X: x, Faults: faults,
		Series: []chartSeries{
			{Label: "completed/s", Color: colorBlue, Unit: "/s", Values: rate},
			{Label: "errors/s", Color: colorRed, Unit: "/s", Axis: 1, Values: errs},
		},
	}}
	if anyPartial {
		out[0].Series = append(out[0].Series,
			chartSeries{Label: "completed/s (partial interval)", Color: colorBlue, Unit: "/s", Points: true, Values: partRate},
			chartSeries{Label: "errors/s (partial interval)", Color: colorRed, Unit: "/s", Axis: 1, Points: true, Values: partErrs})
	}
	if anyLatency {
		out = append(out, chart{
			ID: id + "-latency", Kind: "time", Title: name + ": latency (" + basis + ")", Log: true, X: x, Faults: faults,
			Series: []chartSeries{
				{Label: "p50", Color: colorGreen, Unit: "ms", Values: p50},
				{Label: "p90", Color: colorBlue, Unit: "ms", Values: p90},
				{Label: "p99", Color: colorOrange, Unit: "ms", Values: p99},
				{Label: "max", Color: colorGrey, Unit: "ms", Dash: true, Values: mx},
			},
		})
	}
	return out
}

// ticksPerDecade is the percentile curve's resolution: points per factor
// of ten in 1/(1-q) (90%, 99%, 99.9%, ...).
const ticksPerDecade = 20

// percentileCurve decodes an HDR histogram and reads its value (in ms) at
// percentiles spaced evenly in nines, up to the last recorded value. The
// x values are nines: -log10(1-q), so 1 is p90, 2 is p99, 3 is p99.9.
func percentileCurve(encoded string) (x, ms []float64, err error) {
	h, err := metrics.Decode(encoded)
	if err != nil || h == nil || h.TotalCount() == 0 {
		return nil, nil, err
	}
	total := float64(h.TotalCount())
	// The last point is the max: rank total, plotted at q = 1 - 1/(2·total)
	// so that it sits just right of the highest resolvable percentile.
	top := math.Log10(2 * total)
	var pcts []float64
	for k := 0; ; k++ {
		n := float64(k) / ticksPerDecade
		if n >= top {
			break
		}
		x = append(x, n)
		pcts = append(pcts, 100*(1-math.Pow(10, -n)))
	}
	x = append(x, math.Round(top*1000)/1000)
	pcts = append(pcts, 100)
	for _, v := range h.ValueAtPercentilesSlice(pcts) {
		ms = append(ms, math.Round(float64(v)/1e3)/1e3)
	}
	for i := range x {
		x[i] = math.Round(x[i]*1000) / 1000
	}
	return x, ms, nil
}

// distributionChart is a step's latency by percentile, with service time
// beside response time when the step has both.
func distributionChart(id, name string, s Stats) (chart, bool, error) {
	x, main, err := percentileCurve(s.Histogram)
	if err != nil || x == nil {
		return chart{}, false, err
	}
	label := "latency"
	if s.LatencyBasis == "response" {
		label = "response time"
	}
	c := chart{ID: id + "-distribution", Kind: "percentile", Title: name + ": latency by percentile", Log: true, X: x,
		Series: []chartSeries{{Label: label, Color: colorBlue, Unit: "ms", Values: logVals(main)}}}
	if s.ServiceHistogram != "" {
		sx, service, err := percentileCurve(s.ServiceHistogram)
		if err != nil {
			return chart{}, false, err
		}
		// Both curves come from histograms of the same count, so their
		// x values match; align by index defensively all the same.
		vals := make([]*float64, len(x))
		for i := range x {
			if i < len(sx) && sx[i] == x[i] {
				vals[i] = logVal(service[i])
			}
		}
		c.Series = append(c.Series, chartSeries{Label: "service time", Color: colorPurple, Unit: "ms", Dash: true, Values: vals})
	}
	return c, true, nil
}

func logVals(fs []float64) []*float64 {
	out := make([]*float64, len(fs))
	for i, f := range fs {
		out[i] = logVal(f)
	}
	return out
}
