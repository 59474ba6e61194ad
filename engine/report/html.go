package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// The HTML report is one self-contained file: uPlot (MIT, see
// assets/uPlot.LICENSE), the page's script and styles and the chart data are
// inlined, so it opens without network access.

//go:embed assets/uPlot.iife.min.js
var uplotJS string

//go:embed assets/uPlot.min.css
var uplotCSS string

//go:embed assets/charts.js
var chartsJS string

//go:embed assets/page.css
var pageCSS string

type htmlAssets struct {
	UplotJS  template.JS
	UplotCSS template.CSS
	PageCSS  template.CSS
	ChartsJS template.JS
}

func assets() htmlAssets {
	return htmlAssets{UplotJS: template.JS(uplotJS), UplotCSS: template.CSS(uplotCSS), PageCSS: template.CSS(pageCSS),
		ChartsJS: template.JS(chartsJS)}
}

type htmlView struct {
	htmlAssets
	R *Report
	// ErrorSamples are the first distinct error messages, one line each.
	ErrorSamples []string
	Title        string
	Started      string
	Passed       int
	Rows         []htmlRow
	Outcomes     []htmlOutcomes
	Scenarios    []htmlScenario
	Faults       []htmlFault
	Charts       int
	ChartsJSON   template.JS
}

// htmlOutcomes is one scenario's row of the outcomes table.
type htmlOutcomes struct {
	Name     string
	O        Outcomes
	SentLate string
	Arrival  string
}

type htmlRow struct {
	Name                             string
	Step                             bool
	Count                            int64
	Rate, Errors, P50, P95, P99, Max string
	Notes                            string
}

// htmlFault is a fault for the tables: Problem is a failure (to start or
// to undo), Note why a fault was skipped.
type htmlFault struct {
	Name, Target, Describe, When, Before, During, After, Errors, Recovery, Problem, Note string
}

func htmlFaultOf(f Fault) htmlFault {
	h := htmlFault{Name: f.Name, Target: f.Target, Describe: f.Describe, Before: "-", During: "-", After: "-", Errors: "-", Recovery: "-"}
	switch {
	case !f.Applied && f.Error != "":
		h.When, h.Problem = "not applied", "failed to start: "+f.Error
	case !f.Applied:
		h.When, h.Note = "not applied", f.Skipped
	default:
		h.When = fmt.Sprintf("%.1f–%.1f s", f.Start, f.End)
		h.Before, h.During, h.After = winCell(f.Before), winCell(f.During), winCell(f.After)
		if f.During != nil && f.During.Count > 0 { // no data: unknown, not 0
			h.Errors = fmt.Sprintf("%d", f.During.Errors)
		}
		h.Recovery = recoveryText(f)
	}
	if f.UndoError != "" {
		h.Problem = strings.TrimPrefix(h.Problem+"; ", "; ") + "UNDO FAILED: " + f.UndoError
	}
	return h
}

type htmlScenario struct {
	Name, Model, Notes string
	TimeCharts         []string
	DistCharts         []string
}

// WriteHTML writes r as one self-contained HTML page with charts: each
// scenario's throughput and latency percentiles over time (fault windows
// shaded), each step's latency by percentile (from its HDR histogram), the
// checks, score and verdict, and the recommendations.
func WriteHTML(w io.Writer, r *Report) error {
	v := htmlView{htmlAssets: assets(), R: r, Title: title(r), Started: r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC")}
	windows := faultWindows(r)
	for _, f := range r.Faults {
		v.Faults = append(v.Faults, htmlFaultOf(f))
	}
	for _, c := range r.Checks {
		if c.Passed {
			v.Passed++
		}
	}
	var charts []chart
	for i, s := range r.Scenarios {
		hs := htmlScenario{Name: s.Name, Model: s.Model, Notes: strings.Join(scenarioNotes(s), "; ")}
		id := fmt.Sprintf("s%d", i)
		for _, c := range timeCharts(id, s.Name, s.Stats, r.Interval, windows) {
			charts = append(charts, c)
			hs.TimeCharts = append(hs.TimeCharts, c.ID)
		}
		for j, st := range s.Steps {
			c, ok, err := distributionChart(fmt.Sprintf("%s-step%d", id, j), s.Name+" › "+st.Name, st.Stats)
			if err != nil {
				return fmt.Errorf("report: html: scenario %s step %s: %w", s.Name, st.Name, err)
			}
			if ok {
				charts = append(charts, c)
				hs.DistCharts = append(hs.DistCharts, c.ID)
			}
		}
		v.Scenarios = append(v.Scenarios, hs)
		notes := scenarioNotes(s)
		if len(s.Steps) != 1 || len(s.Steps[0].Metrics) == 0 {
			notes = append(statNotes(r.StepMetrics, s.Stats), notes...)
		}
		v.Rows = append(v.Rows, htmlStatsRow(s.Name, false, s.Stats, notes))
		v.Outcomes = append(v.Outcomes, htmlOutcomes{Name: s.Name, O: s.Outcomes, SentLate: sentLateText(s), Arrival: arrivalCell(s)})
		for _, st := range s.Steps {
			v.Rows = append(v.Rows, htmlStatsRow(st.Name, true, st.Stats, statNotes(r.StepMetrics, st.Stats)))
		}
	}
	v.ErrorSamples = errorSampleLines(r.Scenarios)
	js, err := chartsData(charts)
	if err != nil {
		return err
	}
	v.Charts, v.ChartsJSON = len(charts), js
	if err := reportPage.Execute(w, v); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// chartsData is the charts as a JavaScript literal. json.Marshal escapes
// <, > and &, so the data cannot close the script element.
func chartsData(charts []chart) (template.JS, error) {
	if charts == nil {
		charts = []chart{}
	}
	b, err := json.Marshal(charts)
	if err != nil {
		return "", fmt.Errorf("report: html: %w", err)
	}
	return template.JS(b), nil
}

func htmlStatsRow(name string, step bool, s Stats, notes []string) htmlRow {
	errs := fmt.Sprintf("%d", s.Errors)
	if s.Errors > 0 && s.ErrorRate != nil {
		errs = fmt.Sprintf("%d (%s)", s.Errors, pct(s.ErrorRate))
	}
	l := s.Latency
	return htmlRow{Name: name, Step: step, Count: s.Count, Rate: rateText(s.Rate), Errors: errs,
		P50: latencyText(l, "p50"), P95: latencyText(l, "p95"),
		P99: latencyText(l, "p99"), Max: latencyText(l, "max"), Notes: strings.Join(notes, "; ")}
}

var htmlFuncs = template.FuncMap{
	"short":   short,
	"score":   scoreText,
	"value":   checkValue,
	"verdict": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"pct":     func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"secs":    func(f float64) string { return fmt.Sprintf("%.1f s", f) },
	"figure":  figureOf,
	"serverFigure": func(t Target, f ServerFigure) string {
		return serverFigureText(serverUnits(t), f)
	},
	"spans": spansNote,
	"deref": func(f *float64) float64 { return *f },
	"mib":   func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) },

	"deadRun":         deadRunLine,
	"leftover":        leftoverLine,
	"kindText":        kindText,
	"leftoverServers": leftoverServers,
	"cleanupCommand":  cleanupCommand,
}

func figureOf(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return figure(*v)
}

var reportPage = template.Must(template.New("report").Funcs(htmlFuncs).Parse(htmlHead + reportBody + htmlFoot))

const htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="runplan">
<title>{{.Title}} · runplan</title>
<style>{{.UplotCSS}}</style>
<style>{{.PageCSS}}</style>
</head>
<body data-charts-expected="{{.Charts}}" data-charts-drawn="0">
<main>
`

const htmlFoot = `
<footer>Made by runplan{{with .R}}{{if .RunplanVersion}} {{.RunplanVersion}}{{end}}{{end}} · charts drawn with uPlot (MIT licence) · this page needs no network access.</footer>
</main>
<script>{{.UplotJS}}</script>
<script>window.RUNPLAN_CHARTS = {{.ChartsJSON}};</script>
<script>{{.ChartsJS}}</script>
</body>
</html>
`

const reportBody = `{{$r := .R}}<header class="head v-{{$r.Verdict}}">
<div>
<h1>{{.Title}}</h1>
{{with $r.Plan.Description}}<p class="desc">{{.}}</p>{{end}}
<p class="facts">{{with $r.Plan.Path}}<span class="mono">{{.}}</span>{{end}}<span>run <span class="mono">{{$r.RunID}}</span></span><span>seed {{$r.Seed}}</span><span>{{.Started}}</span><span>{{secs $r.Duration}}</span></p>
</div>
<div class="score">
<span class="badge v-{{$r.Verdict}}">{{verdict $r.Verdict}}</span>
<div class="num">{{if $r.Score}}{{printf "%.1f" (deref $r.Score)}}<span>/100</span>{{else}}n/a{{end}}</div>{{if $r.Invalid}}{{if $r.Score}}<div class="sub">score untrusted: the measurement is invalid</div>{{end}}{{end}}
<div class="sub">{{if $r.Checks}}{{.Passed}} of {{len $r.Checks}} checks passed{{else}}no checks{{end}}{{if $r.VerdictCapped}}; a critical check failed{{end}}</div>
</div>
</header>
{{if $r.Invalid}}<div class="alert bad"><strong>Invalid measurement:</strong> the load generator could not hold the requested load; the checks are not to be trusted.
<ul>{{range $r.Generator.Reasons}}<li>{{.}}</li>{{end}}</ul>{{with $r.Generator.Advice}}{{.}}{{end}}</div>
{{end}}{{if or $r.Partial $r.Error}}<div class="alert warn">{{if $r.NotStarted}}<strong>Not started:</strong> the run did not start; nothing was measured, and the measurement is not judged.{{else}}<strong>Partial run:</strong> the run did not complete; the figures cover what ran.{{end}}{{with $r.Error}}<br>Error: <span class="mono">{{.}}</span>{{end}}</div>
{{end}}{{range $r.Notices}}<div class="alert warn"><strong>Notice:</strong> {{.}}</div>
{{end}}{{range $r.DeadRuns}}<div class="alert warn"><strong>Left by an earlier run:</strong> {{deadRun .}}<br>Restore with <code>{{cleanupCommand .Server}}</code></div>
{{end}}{{if $r.Leftovers}}<div class="alert bad"><strong>Not undone:</strong> the run left its targets changed.
<ul>{{range $r.Leftovers}}<li>{{.Target}}: {{leftover .}}</li>{{end}}</ul>{{range leftoverServers $r.Leftovers}}Restore with <code>{{cleanupCommand .}}</code><br>{{end}}{{with $r.Journal}}Journal: <span class="mono">{{.}}</span>{{end}}</div>
{{end}}
{{if $r.Checks}}<h2>Checks</h2>
<table class="checks">
<thead><tr><th></th><th>check</th><th class="n">value</th><th>expression</th><th class="n">weight</th></tr></thead>
<tbody>
{{range $r.Checks}}<tr{{if not .Passed}} class="failed"{{end}}><td>{{if .Passed}}<span class="ok">✓</span>{{else if .NA}}<span class="ko" title="not measured">?</span>{{else}}<span class="ko">✗</span>{{end}}</td><td>{{.Name}}</td><td class="{{if or .Error .NA}}ko{{else}}n{{end}}">{{value .}}</td><td><code>{{.Expr}}</code>{{range .Notes}}<br><span class="muted">⚠ {{.}}</span>{{end}}</td><td class="n">{{.Weight}}{{if .Partial}} <span class="muted">· credit {{pct .Credit}}</span>{{end}}{{if .Critical}} <span class="muted">critical</span>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
{{if $r.Recommendations}}<h2>Recommendations</h2>
<ul class="recs">{{range $r.Recommendations}}<li>{{.}}</li>{{end}}</ul>
{{end}}
<h2>Scenarios</h2>
<table>
<thead><tr><th>scenario / step</th><th class="n">count</th><th class="n">rate/s</th><th class="n">errors</th><th class="n">p50</th><th class="n">p95</th><th class="n">p99</th><th class="n">max</th><th>notes</th></tr></thead>
<tbody>
{{range .Rows}}<tr{{if .Step}} class="step"{{end}}><td>{{if .Step}}{{.Name}}{{else}}<strong>{{.Name}}</strong>{{end}}</td><td class="n">{{.Count}}</td><td class="n">{{.Rate}}</td><td class="n">{{.Errors}}</td><td class="n">{{.P50}}</td><td class="n">{{.P95}}</td><td class="n">{{.P99}}</td><td class="n">{{.Max}}</td><td class="muted">{{.Notes}}</td></tr>
{{end}}</tbody>
</table>
{{with .ErrorSamples}}<h3>Errors (first distinct messages)</h3>
<ul class="mono">{{range .}}<li>{{.}}</li>{{end}}</ul>
{{end}}{{with .Outcomes}}<table class="outcomes">
<thead><tr><th>outcomes</th><th class="n">due</th><th class="n">ok</th><th class="n">failed</th><th class="n">dropped</th><th class="n">interrupted</th><th class="n">late</th><th class="n">sent late</th><th class="n">arrival/s (planned)</th></tr></thead>
<tbody>
{{range .}}<tr><td><strong>{{.Name}}</strong></td><td class="n">{{.O.Due}}</td><td class="n">{{.O.OK}}</td><td class="n">{{.O.Failed}}</td><td class="n">{{.O.Dropped}}</td><td class="n">{{.O.Interrupted}}</td><td class="n">{{.O.Late}}</td><td class="n">{{.SentLate}}</td><td class="n">{{.Arrival}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
{{with .Faults}}<h2>Faults <small>applied windows are shaded on the time charts</small></h2>
<table>
<thead><tr><th>fault</th><th>target</th><th>window</th><th class="n">before</th><th class="n">during</th><th class="n">after</th><th class="n">errors during</th><th>recovery</th></tr></thead>
<tbody>
{{range .}}<tr><td><strong>{{.Name}}</strong><br><span class="muted">{{.Describe}}</span>{{with .Note}}<br><span class="muted"><em>{{.}}</em></span>{{end}}{{with .Problem}}<br><span class="ko">{{.}}</span>{{end}}</td><td>{{.Target}}</td><td>{{.When}}</td><td class="n win">{{.Before}}</td><td class="n win">{{.During}}</td><td class="n win">{{.After}}</td><td class="n">{{.Errors}}</td><td class="rec">{{.Recovery}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
{{range .Scenarios}}<h2>{{.Name}}<small>{{.Model}} model{{with .Notes}}; {{.}}{{end}}</small></h2>
{{if .TimeCharts}}<div class="grid">{{range .TimeCharts}}<figure class="chart" id="chart-{{.}}"></figure>{{end}}</div>
{{else}}<p class="muted">No time series: the scenario did not run.</p>
{{end}}{{if .DistCharts}}<h3>Latency distribution by step</h3>
<div class="grid">{{range .DistCharts}}<figure class="chart" id="chart-{{.}}"></figure>{{end}}</div>
{{end}}{{end}}
<h2>Targets and generator</h2>
<table>
<thead><tr><th>target</th><th>driver</th><th>kind</th><th>address</th></tr></thead>
<tbody>
{{range $r.Targets}}<tr><td>{{.Name}}</td><td>{{.Driver}}</td><td>{{kindText .}}</td><td class="mono">{{.Addr}}</td></tr>
{{with spans .}}<tr><td></td><td colspan="3"><strong>note:</strong> {{.}}</td></tr>
{{end}}{{if .Server}}<tr><td></td><td colspan="3"><details><summary>server view: {{len .Server}} figures from {{.ServerSamples}} samples</summary>
<dl class="kv">{{$t := .}}{{range .Server}}<dt>{{.Name}}</dt><dd>{{if .Value}}{{serverFigure $t .}}{{else}}<span class="muted">not provided by this server</span>{{end}}{{with .Help}} <span class="muted">— {{.}}</span>{{end}}</dd>{{end}}</dl>{{with .ServerError}}<p class="muted">last sampling error: {{.}}</p>{{end}}</details></td></tr>
{{end}}{{end}}</tbody>
</table>
<dl class="kv">
<dt>measurement</dt><dd>{{if $r.NotStarted}}not judged: the run did not start{{else if $r.Invalid}}<strong>invalid</strong>{{else if and (not $r.Generator.Lag) (not $r.Generator.Scheduled)}}validity not judged (closed model){{else}}valid: the generator held the requested load{{end}}</dd>
<dt>generator CPU</dt><dd>{{with $r.Generator.CPU}}{{pct (deref .)}} of the available CPUs{{else}}unknown on this system{{end}}{{if $r.Generator.PeakRSS}}, peak memory {{mib $r.Generator.PeakRSS}}{{end}}</dd>
{{with $r.Generator.Lag}}<dt>scheduling lag</dt><dd>p50 {{short .P50}}, p99 {{short .P99}}, max {{short .Max}}</dd>{{end}}
{{if $r.Generator.Scheduled}}<dt>open-model iterations</dt><dd>{{$r.Generator.Scheduled}} due, {{$r.Generator.Late}} late (sent late or skipped), {{$r.Generator.Dropped}} dropped for want of a free VU</dd>{{end}}
<dt>time series interval</dt><dd>{{$r.Interval}} s</dd>
{{with $r.Plan.Digest}}<dt>plan digest</dt><dd class="mono">sha256:{{.}}</dd>{{end}}
</dl>
`
