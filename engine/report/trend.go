package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Trend is how series of reports (nightly runs, say) moved over time, one
// series per plan: a folder of several plans' reports gives one table
// (and one set of charts) per plan, never one table mixing them.
type Trend struct {
	// Plans are the plans' trends, ordered by plan (PlanKey): the order
	// does not depend on the order the reports were given in.
	Plans []*PlanTrend
}

// PlanTrend is one plan's runs: score, verdict and each check's value,
// oldest first.
type PlanTrend struct {
	// Plan is the plan's PlanKey.
	Plan string
	Runs []TrendRun
	// Checks are the checks seen in any run, in first-seen order.
	Checks []TrendCheck
}

// TrendRun is one report of a trend.
type TrendRun struct {
	Title, RunID, Verdict string
	Started               time.Time
	Score                 *float64
	// Valid is false only for a measurement judged invalid; a run that
	// never started (NotStarted) is not judged.
	Valid, Partial, NotStarted bool
	// Segment is "segment 1/4" for a segment's report, "4 segments
	// merged" for a merged one, "" for a whole run (as in compare).
	Segment string
	Checks  map[string]Check
}

// TrendCheck names a check of a trend.
type TrendCheck struct {
	Name, Expr, Unit string
}

// NewTrend groups reports by plan (PlanKey), orders each plan's reports
// by start time (then run id) and collects their checks.
func NewTrend(reports []*Report) *Trend {
	t := &Trend{}
	rs := append([]*Report(nil), reports...)
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].StartedAt.Equal(rs[j].StartedAt) {
			return rs[i].StartedAt.Before(rs[j].StartedAt)
		}
		return rs[i].RunID < rs[j].RunID
	})
	byPlan := map[string]*PlanTrend{}
	seenCheck := map[string]map[string]bool{}
	for _, r := range rs {
		key := PlanKey(r)
		pt := byPlan[key]
		if pt == nil {
			pt = &PlanTrend{Plan: key}
			byPlan[key] = pt
			seenCheck[key] = map[string]bool{}
			t.Plans = append(t.Plans, pt)
		}
		run := TrendRun{Title: title(r), RunID: r.RunID, Verdict: r.Verdict, Started: r.StartedAt.UTC(), Score: r.Score,
			Valid: !r.Invalid(), Partial: r.Partial, NotStarted: r.NotStarted, Segment: runRef(r).Segment, Checks: map[string]Check{}}
		for _, c := range r.Checks {
			run.Checks[c.Name] = c
			if !seenCheck[key][c.Name] {
				seenCheck[key][c.Name] = true
				pt.Checks = append(pt.Checks, TrendCheck{Name: c.Name, Expr: c.Expr, Unit: c.Unit})
			}
		}
		pt.Runs = append(pt.Runs, run)
	}
	sort.Slice(t.Plans, func(i, j int) bool { return t.Plans[i].Plan < t.Plans[j].Plan })
	return t
}

// runCount is the number of runs over every plan.
func (t *Trend) runCount() int {
	n := 0
	for _, p := range t.Plans {
		n += len(p.Runs)
	}
	return n
}

func (t *Trend) title() string {
	switch len(t.Plans) {
	case 0:
		return "no runs"
	case 1:
		return t.Plans[0].Plan
	default:
		return fmt.Sprintf("%d plans", len(t.Plans))
	}
}

func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// summary is the first-to-last movement of score and verdict.
func (t *PlanTrend) summary() string {
	if len(t.Runs) == 0 {
		return "no runs"
	}
	first, last := t.Runs[0], t.Runs[len(t.Runs)-1]
	var parts []string
	fs, ls := "n/a", "n/a"
	if first.Score != nil {
		fs = fmt.Sprintf("%.1f", *first.Score)
	}
	if last.Score != nil {
		ls = fmt.Sprintf("%.1f", *last.Score)
	}
	score := "score " + fs + " → " + ls
	if first.Score != nil && last.Score != nil {
		score += fmt.Sprintf(" (%+.1f)", *last.Score-*first.Score)
	}
	parts = append(parts, score, "verdict "+verdictWords(first.Verdict)+" → "+verdictWords(last.Verdict),
		first.Started.Format("2006-01-02 15:04")+" → "+last.Started.Format("2006-01-02 15:04"))
	return strings.Join(parts, " · ")
}

func runs(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}

func verdictWords(v string) string { return strings.ReplaceAll(v, "_", " ") }

// change is a check's first-to-last relative change, "" when not numeric.
func (t *PlanTrend) change(name string) string {
	var first, last *float64
	for _, r := range t.Runs {
		c, ok := r.Checks[name]
		if !ok {
			continue
		}
		if f, ok := numeric(c.Value); ok {
			if first == nil {
				first = val(f)
			}
			last = val(f)
		}
	}
	if first == nil || last == nil {
		return ""
	}
	fc := FigureChange{Figure: "trend", Base: first, New: last}
	if *first != 0 {
		fc.Rel = val((*last - *first) / math.Abs(*first))
	}
	return changeText(fc)
}

func trendCell(c Check, ok bool) string {
	if !ok {
		return "–"
	}
	mark := "✓"
	if !c.Passed {
		mark = "✗"
	}
	if c.Error != "" {
		return mark + " error"
	}
	if c.NA() {
		return "? n/a"
	}
	return mark + " " + checkValue(c)
}

// WriteTrendMarkdown writes a trend as Markdown: one table per plan, one
// row per run.
func WriteTrendMarkdown(w io.Writer, t *Trend) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### runplan trend · %s · %s\n\n", mdEscape(t.title()), runs(t.runCount()))
	for _, p := range t.Plans {
		if len(t.Plans) > 1 {
			fmt.Fprintf(&b, "#### %s · %s\n\n", mdEscape(p.Plan), runs(len(p.Runs)))
		}
		writePlanTrendMarkdown(&b, p)
	}
	_, err := io.WriteString(w, strings.TrimSuffix(b.String(), "\n"))
	return err
}

func writePlanTrendMarkdown(b *strings.Builder, t *PlanTrend) {
	b.WriteString(mdEscape(t.summary()) + "\n\n")
	b.WriteString("| started | run | verdict | score |")
	align := "|---|---|---|--:|"
	for _, c := range t.Checks {
		b.WriteString(" " + mdEscape(c.Name) + " |")
		align += "--:|"
	}
	b.WriteString("\n" + align + "\n")
	for _, r := range t.Runs {
		score := "n/a"
		if r.Score != nil {
			score = fmt.Sprintf("%.1f", *r.Score)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |", r.Started.Format("2006-01-02 15:04"), mdCode(r.RunID), verdictMark[r.Verdict]+" "+runVerdict(r), score)
		for _, c := range t.Checks {
			ch, ok := r.Checks[c.Name]
			cell := mdEscape(trendCell(ch, ok))
			if ok && !ch.Passed {
				cell = "**" + cell + "**"
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	if len(t.Runs) > 1 {
		first, last := t.Runs[0], t.Runs[len(t.Runs)-1]
		sc := ""
		if first.Score != nil && last.Score != nil {
			sc = fmt.Sprintf("%+.1f", *last.Score-*first.Score)
		}
		fmt.Fprintf(b, "| **change** | | | %s |", sc)
		for _, c := range t.Checks {
			b.WriteString(" " + t.change(c.Name) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// runVerdict is a run's verdict in words, with what makes it untrusted.
func runVerdict(r TrendRun) string {
	verdict := verdictWords(r.Verdict)
	switch {
	case r.NotStarted:
		verdict += " (not started)"
	case !r.Valid && r.Verdict != "invalid": // a report from before the invalid verdict
		verdict += " (invalid)"
	}
	if r.Partial && !r.NotStarted {
		verdict += " (partial)"
	}
	if r.Segment != "" {
		verdict += " (" + r.Segment + ")"
	}
	return verdict
}

// trendCharts are the score over time, with each run's verdict marked,
// and one chart per check with a numeric value: the value, and whether it
// passed.
func trendCharts(t *PlanTrend, idPrefix string) []chart {
	x := make([]float64, len(t.Runs))
	score := make([]*float64, len(t.Runs))
	byVerdict := map[string][]*float64{}
	verdicts := []struct{ name, color string }{{"ready", colorGreen}, {"degraded", "#9a6700"}, {"not_ready", colorRed}, {"invalid", "#8250df"}}
	for _, v := range verdicts {
		byVerdict[v.name] = make([]*float64, len(t.Runs))
	}
	for i, r := range t.Runs {
		x[i] = float64(r.Started.Unix()) + float64(r.Started.Nanosecond()/1e6)/1e3
		score[i] = r.Score
		if s, ok := byVerdict[r.Verdict]; ok && r.Score != nil {
			s[i] = val(*r.Score)
		}
	}
	sc := chart{ID: idPrefix + "trend-score", Kind: "date", Title: "score and verdict", X: x,
		Series: []chartSeries{{Label: "score", Color: colorGrey, Values: score}}}
	for _, v := range verdicts {
		sc.Series = append(sc.Series, chartSeries{Label: verdictWords(v.name), Color: v.color, Points: true, Values: byVerdict[v.name]})
	}
	charts := []chart{sc}
	for i, c := range t.Checks {
		vals := make([]*float64, len(t.Runs))
		pass := make([]*float64, len(t.Runs))
		fail := make([]*float64, len(t.Runs))
		anyVal := false
		for j, r := range t.Runs {
			ch, ok := r.Checks[c.Name]
			if !ok {
				continue
			}
			f, ok := numeric(ch.Value)
			if !ok {
				continue
			}
			anyVal = true
			vals[j] = val(f)
			if ch.Passed {
				pass[j] = val(f)
			} else {
				fail[j] = val(f)
			}
		}
		if !anyVal {
			continue
		}
		charts = append(charts, chart{ID: fmt.Sprintf("%strend-check%d", idPrefix, i), Kind: "date", Title: c.Name + ": " + c.Expr, X: x,
			Series: []chartSeries{
				{Label: "value", Color: colorBlue, Unit: c.Unit, Values: vals},
				{Label: "passed", Color: colorGreen, Unit: c.Unit, Points: true, Values: pass},
				{Label: "failed", Color: colorRed, Unit: c.Unit, Points: true, Values: fail},
			}})
	}
	return charts
}

type trendView struct {
	htmlAssets
	Title      string
	Runs       string
	Multi      bool
	Charts     int
	Plans      []trendPlanView
	ChartsJSON template.JS
	R          *Report // nil: the footer names no version
}

type trendPlanView struct {
	Plan, Summary, Runs string
	ChartIDs            []string
	Rows                []trendRow
	Checks              []TrendCheck
}

type trendRow struct {
	Started, RunID, Verdict, VerdictClass, Score string
	Cells                                        []trendCellView
}

type trendCellView struct {
	Text   string
	Failed bool
}

// WriteTrendHTML writes a trend as one self-contained HTML page: per plan,
// the score and each check's value over time, and the table of runs.
func WriteTrendHTML(w io.Writer, t *Trend) error {
	v := trendView{htmlAssets: assets(), Title: "runplan trend · " + t.title(), Runs: runs(t.runCount()), Multi: len(t.Plans) > 1}
	var charts []chart
	for i, p := range t.Plans {
		prefix := ""
		if v.Multi {
			prefix = fmt.Sprintf("p%d-", i)
		}
		pv := trendPlanView{Plan: p.Plan, Summary: p.summary(), Runs: runs(len(p.Runs)), Checks: p.Checks}
		for _, c := range trendCharts(p, prefix) {
			charts = append(charts, c)
			pv.ChartIDs = append(pv.ChartIDs, c.ID)
		}
		for _, r := range p.Runs {
			row := trendRow{Started: r.Started.Format("2006-01-02 15:04"), RunID: r.RunID,
				Verdict: runVerdict(r), VerdictClass: r.Verdict, Score: "n/a"}
			if r.Score != nil {
				row.Score = fmt.Sprintf("%.1f", *r.Score)
			}
			for _, c := range p.Checks {
				ch, ok := r.Checks[c.Name]
				row.Cells = append(row.Cells, trendCellView{Text: trendCell(ch, ok), Failed: ok && !ch.Passed})
			}
			pv.Rows = append(pv.Rows, row)
		}
		v.Plans = append(v.Plans, pv)
	}
	js, err := chartsData(charts)
	if err != nil {
		return err
	}
	v.Charts, v.ChartsJSON = len(charts), js
	if err := trendPage.Execute(w, v); err != nil {
		return fmt.Errorf("report: trend html: %w", err)
	}
	return nil
}

var trendPage = template.Must(template.New("trend").Funcs(htmlFuncs).Parse(htmlHead + trendBody + htmlFoot))

// trendBody shows one plan as the page (its summary in the header), and
// several as one section each, in the trend's order.
const trendBody = `<header class="head">
<div>
<h1>{{.Title}}</h1>
<p class="facts"><span>{{.Runs}}</span>{{if not .Multi}}{{range .Plans}}<span>{{.Summary}}</span>{{end}}{{end}}</p>
</div>
</header>
{{$multi := .Multi}}{{range .Plans}}{{if $multi}}<section class="plan">
<h2>{{.Plan}}</h2>
<p class="facts"><span>{{.Runs}}</span><span>{{.Summary}}</span></p>
{{end}}{{if .ChartIDs}}<h2>Over time</h2>
<div class="grid">{{range .ChartIDs}}<figure class="chart" id="chart-{{.}}"></figure>{{end}}</div>
{{end}}
<h2>Runs</h2>
<table>
<thead><tr><th>started</th><th>run</th><th>verdict</th><th class="n">score</th>{{range .Checks}}<th class="n" title="{{.Expr}}">{{.Name}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Started}}</td><td class="mono">{{.RunID}}</td><td><span class="badge v-{{.VerdictClass}}">{{.Verdict}}</span></td><td class="n">{{.Score}}</td>{{range .Cells}}<td class="n{{if .Failed}} ko{{end}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{if $multi}}</section>
{{end}}{{end}}`
