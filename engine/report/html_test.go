package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/metrics"
)

// chromium returns the path of Debian's headless Chromium, failing the test
// when it is missing: the charts must be seen to draw.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("chromium is not installed: the HTML report's charts cannot be checked. " +
		"Install Debian's chromium (apt-get install -y chromium fonts-dejavu-core).")
	return ""
}

// chromiumFlags run Chromium headless, offline and without a profile.
func chromiumFlags(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}
}

// chromiumSlot lets one Chromium run at a time: several at once on a
// 2-core machine already busy with the rest of the suite take minutes to
// start.
var chromiumSlot = make(chan struct{}, 1)

// renderDOM loads page in headless Chromium and returns the DOM after its
// scripts ran.
func renderDOM(t *testing.T, page string) string {
	t.Helper()
	bin := chromium(t)
	chromiumSlot <- struct{}{}
	defer func() { <-chromiumSlot }()
	// A hang guard, not a timing: a page renders in a second or two.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append(chromiumFlags(t), "--window-size=1280,2000", "--dump-dom", "file://"+page)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

var bodyAttr = regexp.MustCompile(`<body([^>]*)>`)

// attrs reads the body element's attributes.
func attrs(t *testing.T, dom string) map[string]string {
	t.Helper()
	m := bodyAttr.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no <body> in the DOM:\n%s", clip(dom))
	}
	out := map[string]string{}
	for _, a := range regexp.MustCompile(`([a-z-]+)="([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		out[a[1]] = a[2]
	}
	return out
}

// TestHTMLChartsDrawInChromium renders reports, opens them in headless
// Chromium and checks that every chart drew its lines (the page counts a
// chart when a series' colour is on its canvas near a data point) and that
// the fault windows were shaded.
func TestHTMLChartsDrawInChromium(t *testing.T) {
	t.Parallel()
	chromium(t)
	tests := []struct {
		name   string
		write  func(*bytes.Buffer) error
		charts int // at least
		shaded int // charts with a fault window shaded
	}{
		{"fixture with faults", func(b *bytes.Buffer) error { return WriteHTML(b, buildFixture(fixtureOptions{})) }, 7, 4},
		{"real report from plans/quick.yaml", func(b *bytes.Buffer) error { return WriteHTML(b, readFixture(t, "sample.json")) }, 7, 0},
		{"real report with a fault (plans/signal-delivery.yaml)", func(b *bytes.Buffer) error {
			return WriteHTML(b, readFixture(t, "sample-faults.json"))
		}, 4, 1},
		{"trend of five runs", func(b *bytes.Buffer) error { return WriteTrendHTML(b, NewTrend(trendFixture(t))) }, 6, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b.Bytes(), []byte("http://")) || bytes.Contains(b.Bytes(), []byte("https://")) {
				for _, m := range regexp.MustCompile(`(src|href)="https?://`).FindAll(b.Bytes(), -1) {
					t.Errorf("the page loads %s: it must be self-contained", m)
				}
			}
			page := filepath.Join(t.TempDir(), "report.html")
			if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			a := attrs(t, renderDOM(t, page))
			expected, _ := strconv.Atoi(a["data-charts-expected"])
			drawn, _ := strconv.Atoi(a["data-charts-drawn"])
			if expected < tt.charts {
				t.Errorf("%d charts on the page, want at least %d", expected, tt.charts)
			}
			if drawn != expected {
				t.Errorf("%d of %d charts drew (failed: %q, error: %q)", drawn, expected, a["data-charts-failed"], a["data-chart-error"])
			}
			if shaded, _ := strconv.Atoi(a["data-faults-shaded"]); shaded < tt.shaded {
				t.Errorf("%d charts shaded a fault window, want at least %d", shaded, tt.shaded)
			}
		})
	}
}

// TestHTMLCharts checks the chart data the page is given.
func TestHTMLCharts(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`window\.RUNPLAN_CHARTS = (.*);</script>`).FindSubmatch(b.Bytes())
	if m == nil {
		t.Fatal("no chart data in the page")
	}
	var charts []chart
	if err := json.Unmarshal(m[1], &charts); err != nil {
		t.Fatal(err)
	}
	byID := map[string]chart{}
	for _, c := range charts {
		byID[c.ID] = c
	}
	want := []string{"s0-throughput", "s0-latency", "s0-step0-distribution", "s1-throughput", "s1-latency",
		"s1-step0-distribution", "s1-step1-distribution"}
	for _, id := range want {
		if _, ok := byID[id]; !ok {
			t.Errorf("no chart %s (have %d charts)", id, len(charts))
		}
		if !strings.Contains(b.String(), `id="chart-`+id+`"`) {
			t.Errorf("no element for chart %s", id)
		}
	}
	lat := byID["s0-latency"]
	if len(lat.Faults) != 2 || lat.Faults[0] != (faultWindow{"redis_latency", 3, 5}) {
		t.Errorf("latency chart faults %+v, want the two applied windows", lat.Faults)
	}
	// The last interval completed nothing: a gap, not a zero.
	if p99 := lat.Series[2].Values; p99[len(p99)-1] != nil {
		t.Errorf("empty interval has p99 %v, want null", *p99[len(p99)-1])
	}
	if p99 := lat.Series[2].Values; p99[0] == nil || *p99[0] != r.Scenarios[0].Series[0].Latency.P99 {
		t.Errorf("first p99 %v, want %v", p99[0], r.Scenarios[0].Series[0].Latency.P99)
	}
	// signal_delivery starts at 1 s: its first interval was not measured,
	// a gap, not an outage; its last is partial, a marker of its own.
	tp := byID["s1-throughput"]
	if len(tp.Series) != 4 {
		t.Fatalf("throughput chart with a partial interval: %d series, want 4", len(tp.Series))
	}
	last := len(tp.X) - 1
	if tp.Series[0].Values[0] != nil || tp.Series[1].Values[0] != nil {
		t.Errorf("interval before the start charted as %v/s", *tp.Series[0].Values[0])
	}
	if tp.Series[0].Values[last] != nil || tp.Series[2].Values[last] == nil || !tp.Series[2].Points {
		t.Errorf("partial interval: line %v, marker %v; want only a marker", tp.Series[0].Values[last], tp.Series[2].Values[last])
	}
	if tp.Series[0].Values[1] == nil || *tp.Series[0].Values[1] != 40 {
		t.Errorf("first measured interval charted as %v, want 40/s", tp.Series[0].Values[1])
	}
	if len(byID["s0-throughput"].Series) != 2 {
		t.Errorf("throughput chart without a partial interval: %d series, want 2", len(byID["s0-throughput"].Series))
	}
	dist := byID["s1-step0-distribution"]
	if len(dist.Series) != 2 {
		t.Errorf("open-model step: %d curves, want response and service time", len(dist.Series))
	}
}

// TestPercentileCurve decodes a histogram and reads its curve: the points
// at 90 % and 99 % are the histogram's own p90 and p99, and the last is
// the max.
func TestPercentileCurve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []time.Duration
	}{
		{"one value", []time.Duration{3 * time.Millisecond}},
		{"uniform 1..1000µs", func() []time.Duration {
			var v []time.Duration
			for i := 1; i <= 1000; i++ {
				v = append(v, time.Duration(i)*time.Microsecond)
			}
			return v
		}()},
		{"long tail", func() []time.Duration {
			var v []time.Duration
			for i := 0; i < 100000; i++ {
				d := time.Millisecond
				if i%1000 == 0 {
					d = 900 * time.Millisecond
				}
				v = append(v, d+time.Duration(i%100)*time.Microsecond)
			}
			return v
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := metrics.NewHistogram()
			for _, v := range tt.values {
				_ = h.RecordValue(int64(v))
			}
			enc, err := metrics.Encode(h)
			if err != nil {
				t.Fatal(err)
			}
			x, ms, err := percentileCurve(enc)
			if err != nil {
				t.Fatal(err)
			}
			if len(x) != len(ms) || len(x) < 2 {
				t.Fatalf("%d x, %d values", len(x), len(ms))
			}
			sum := metrics.Summarize(h)
			at := func(nines float64) float64 {
				for i := range x {
					if x[i] == nines {
						return ms[i]
					}
				}
				return -1
			}
			if got, want := ms[len(ms)-1], float64(h.Max())/1e6; !near(got, want) {
				t.Errorf("last point %vms, want the max %vms", got, want)
			}
			if got, want := at(1), float64(sum.P90)/1e6; len(tt.values) >= 10 && !near(got, want) {
				t.Errorf("90%%: %vms, want p90 %vms", got, want)
			}
			if got, want := at(2), float64(sum.P99)/1e6; len(tt.values) >= 100 && !near(got, want) {
				t.Errorf("99%%: %vms, want p99 %vms", got, want)
			}
			for i := 1; i < len(x); i++ {
				if x[i] <= x[i-1] || ms[i] < ms[i-1] {
					t.Fatalf("not increasing at %d: x %v→%v, ms %v→%v", i, x[i-1], x[i], ms[i-1], ms[i])
				}
			}
		})
	}
	if _, _, err := percentileCurve("HISTFAAAAbroken"); err == nil {
		t.Error("a broken histogram decoded")
	}
}

func near(a, b float64) bool { return a-b < 0.0015 && b-a < 0.0015 }
