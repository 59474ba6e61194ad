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

// Trend is how a series of reports (nightly runs, say) moved over time:
// score, verdict and each check's value, oldest first.
type Trend struct {
	Runs []TrendRun
	// Checks are the checks seen in any run, in first-seen order.
	Checks []TrendCheck
	// Plans are the distinct plan titles, in first-seen order.
	Plans []string
}

// TrendRun is one report of a trend.
type TrendRun struct {
	Title, RunID, Verdict string
	Started               time.Time
	Score                 *float64
	// Valid is false only for a measurement judged invalid; a run that
	// never started (NotStarted) is not judged.
	Valid, Partial, NotStarted bool
	Checks                     map[string]Check
}

// TrendCheck names a check of a trend.
type TrendCheck struct {
	Name, Expr, Unit string
}

// NewTrend orders reports by start time (then run id) and collects their
// checks.
func NewTrend(reports []*Report) *Trend {
	t := &Trend{}
	rs := append([]*Report(nil), reports...)
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].StartedAt.Equal(rs[j].StartedAt) {
			return rs[i].StartedAt.Before(rs[j].StartedAt)
		}
		return rs[i].RunID < rs[j].RunID
	})
	seenCheck, seenPlan := map[string]bool{}, map[string]bool{}
	for _, r := range rs {
		run := TrendRun{Title: title(r), RunID: r.RunID, Verdict: r.Verdict, Started: r.StartedAt.UTC(), Score: r.Score,
			Valid: !r.Invalid(), Partial: r.Partial, NotStarted: r.NotStarted, Checks: map[string]Check{}}
		if !seenPlan[run.Title] {
			seenPlan[run.Title] = true
			t.Plans = append(t.Plans, run.Title)
		}
		for _, c := range r.Checks {
			run.Checks[c.Name] = c
			if !seenCheck[c.Name] {
				seenCheck[c.Name] = true
				t.Checks = append(t.Checks, TrendCheck{Name: c.Name, Expr: c.Expr, Unit: c.Unit})
			}
		}
		t.Runs = append(t.Runs, run)
	}
	return t
}

func (t *Trend) title() string {
	switch len(t.Plans) {
	case 0:
		return "no runs"
	case 1:
		return t.Plans[0]
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
func (t *Trend) summary() string {
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
func (t *Trend) change(name string) string {
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

// WriteTrendMarkdown writes a trend as a Markdown table, one row per run.
func WriteTrendMarkdown(w io.Writer, t *Trend) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### runplan trend · %s · %s\n\n", mdEscape(t.title()), runs(len(t.Runs)))
	if len(t.Runs) == 0 {
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString(mdEscape(t.summary()) + "\n\n")
	multi := len(t.Plans) > 1
	b.WriteString("| started | run |")
	align := "|---|---|"
	if multi {
		b.WriteString(" plan |")
		align += "---|"
	}
	b.WriteString(" verdict | score |")
	align += "---|--:|"
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
		verdict := verdictMark[r.Verdict] + " " + verdictWords(r.Verdict)
		switch {
		case r.NotStarted:
			verdict += " (not started)"
		case !r.Valid && r.Verdict != "invalid": // a report from before the invalid verdict
			verdict += " (invalid)"
		}
		if r.Partial && !r.NotStarted {
			verdict += " (partial)"
		}
		fmt.Fprintf(&b, "| %s | %s |", r.Started.Format("2006-01-02 15:04"), mdCode(r.RunID))
		if multi {
			b.WriteString(" " + mdEscape(r.Title) + " |")
		}
		fmt.Fprintf(&b, " %s | %s |", verdict, score)
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
		b.WriteString("| **change** | |")
		if multi {
			b.WriteString(" |")
		}
		first, last := t.Runs[0], t.Runs[len(t.Runs)-1]
		sc := ""
		if first.Score != nil && last.Score != nil {
			sc = fmt.Sprintf("%+.1f", *last.Score-*first.Score)
		}
		fmt.Fprintf(&b, " | %s |", sc)
		for _, c := range t.Checks {
			b.WriteString(" " + t.change(c.Name) + " |")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// trendCharts are the score over time, with each run's verdict marked,
// and one chart per check with a numeric value: the value, and whether it
// passed.
func trendCharts(t *Trend) []chart {
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
	sc := chart{ID: "trend-score", Kind: "date", Title: "score and verdict", X: x,
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
		charts = append(charts, chart{ID: fmt.Sprintf("trend-check%d", i), Kind: "date", Title: c.Name + ": " + c.Expr, X: x,
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
	T          *Trend
	Title      string
	Summary    string
	Runs       string
	Charts     int
	ChartIDs   []string
	ChartsJSON template.JS
	Rows       []trendRow
	R          *Report // nil: the footer names no version
}

type trendRow struct {
	Started, RunID, Plan, Verdict, VerdictClass, Score string
	Cells                                              []trendCellView
}

type trendCellView struct {
	Text   string
	Failed bool
}

// WriteTrendHTML writes a trend as one self-contained HTML page: the
// score and each check's value over time, and the table of runs.
func WriteTrendHTML(w io.Writer, t *Trend) error {
	charts := trendCharts(t)
	if len(t.Runs) == 0 {
		charts = nil
	}
	v := trendView{htmlAssets: assets(), T: t, Title: "runplan trend · " + t.title(), Summary: t.summary(), Runs: runs(len(t.Runs)), Charts: len(charts)}
	for _, c := range charts {
		v.ChartIDs = append(v.ChartIDs, c.ID)
	}
	for _, r := range t.Runs {
		row := trendRow{Started: r.Started.Format("2006-01-02 15:04"), RunID: r.RunID, Plan: r.Title,
			Verdict: verdictWords(r.Verdict), VerdictClass: r.Verdict, Score: "n/a"}
		if r.Score != nil {
			row.Score = fmt.Sprintf("%.1f", *r.Score)
		}
		switch {
		case r.NotStarted:
			row.Verdict += " (not started)"
		case !r.Valid && r.Verdict != "invalid":
			row.Verdict += " (invalid)"
		}
		for _, c := range t.Checks {
			ch, ok := r.Checks[c.Name]
			row.Cells = append(row.Cells, trendCellView{Text: trendCell(ch, ok), Failed: ok && !ch.Passed})
		}
		v.Rows = append(v.Rows, row)
	}
	js, err := chartsData(charts)
	if err != nil {
		return err
	}
	v.ChartsJSON = js
	if err := trendPage.Execute(w, v); err != nil {
		return fmt.Errorf("report: trend html: %w", err)
	}
	return nil
}

var trendPage = template.Must(template.New("trend").Funcs(htmlFuncs).Parse(htmlHead + trendBody + htmlFoot))

const trendBody = `<header class="head">
<div>
<h1>{{.Title}}</h1>
<p class="facts"><span>{{.Runs}}</span><span>{{.Summary}}</span></p>
</div>
</header>
{{if .ChartIDs}}<h2>Over time</h2>
<div class="grid">{{range .ChartIDs}}<figure class="chart" id="chart-{{.}}"></figure>{{end}}</div>
{{end}}
<h2>Runs</h2>
<table>
<thead><tr><th>started</th><th>run</th>{{if gt (len .T.Plans) 1}}<th>plan</th>{{end}}<th>verdict</th><th class="n">score</th>{{range .T.Checks}}<th class="n" title="{{.Expr}}">{{.Name}}</th>{{end}}</tr></thead>
<tbody>
{{$multi := gt (len .T.Plans) 1}}{{range .Rows}}<tr><td>{{.Started}}</td><td class="mono">{{.RunID}}</td>{{if $multi}}<td>{{.Plan}}</td>{{end}}<td><span class="badge v-{{.VerdictClass}}">{{.Verdict}}</span></td><td class="n">{{.Score}}</td>{{range .Cells}}<td class="n{{if .Failed}} ko{{end}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
`
