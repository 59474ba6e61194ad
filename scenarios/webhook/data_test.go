package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
)

// recorder is an HTTP server that keeps the symbol of every delivery it
// receives, in order.
type recorder struct {
	mu      sync.Mutex
	symbols []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body struct{ Symbol, Price, Key string }
	if err := json.Unmarshal(b, &body); err == nil && body.Symbol != "" {
		rc.mu.Lock()
		rc.symbols = append(rc.symbols, body.Symbol+"@"+body.Price+"="+body.Key)
		rc.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// A scenario that reads a data source delivers its rows, one per
// iteration, drawn before its vars; a scenario that reads none draws none.
// A unique source that runs out stops the scenario (exhausted: stop), the
// report saying why, or fails the iterations left with class data
// (exhausted: error); either way every due iteration has its outcome.
func TestDataFeedsDeliveries(t *testing.T) {
	t.Parallel()
	const csv = "symbol,side,price\nBTC,BUY,60000\nETH,SELL,3200\nSOL,BUY,145\nBNB,SELL,580\nXRP,BUY,0.52\n"
	all := []string{"BTC@60000=k:BTC", "ETH@3200=k:ETH", "SOL@145=k:SOL", "BNB@580=k:BNB", "XRP@0.52=k:XRP"}
	tests := []struct {
		name, source, load string
		want               []string // the deliveries of scenario feed, in order
		ok, failed, intr   int64
		aborted            string
		anyOrder           bool // VUs deliver concurrently: compare the deliveries sorted
		open               bool // intr is a minimum, and hits may be dropped
	}{
		{name: "sequential wraps", source: "{file: data/signals.csv}", load: "{vus: 1, iterations: 8}",
			want: slices.Concat(all, all[:3]), ok: 8},
		{name: "unique stop", source: "{file: data/signals.csv, pick: unique}", load: "{vus: 1, iterations: 8}",
			want: all, ok: 5, intr: 1, aborted: "data signals: every row of "},
		{name: "unique error", source: "{file: data/signals.csv, pick: unique, exhausted: error}", load: "{vus: 1, iterations: 8}",
			want: all, ok: 5, failed: 3},
		{name: "sequential, a cursor per VU", source: "{file: data/signals.csv, cursor: vu}", load: "{vus: 2, per_vu_iterations: 3}",
			want: slices.Concat(all[:3], all[:3]), ok: 6, anyOrder: true},
		// The open model: hits in flight when the rows run out (one at
		// least) are interrupted; a hit that found no free VU on a busy
		// machine is dropped; every due hit is accounted for.
		{name: "unique stop, open model", source: "{file: data/signals.csv, pick: unique}", load: "{rate: 20/s, duration: 2s, max_vus: 4}",
			want: all, ok: 5, intr: 1, aborted: "(pick: unique)", anyOrder: true, open: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := &recorder{}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "data", "signals.csv"), []byte(csv), 0o644); err != nil {
				t.Fatal(err)
			}
			src := `version: 1
name: feed
targets:
  hook: {driver: webhook, flavor: generic, url: "` + srv.URL + `/hook", retries: 0, rate_limit: ignore}
data:
  signals: ` + tt.source + `
scenarios:
  feed:
    load: ` + tt.load + `
    vars: {key: "k:{{ data.signals.symbol }}"}
    steps:
      - webhook: {json: {symbol: "{{ data.signals.symbol }}", price: "{{ data.signals.price }}", key: "{{ vars.key }}"}}
        expect: {status: 204}
  other:
    load: {vus: 1, iterations: 3}
    steps:
      - webhook: {json: {n: "{{ iteration }}"}}
        expect: {status: 204}
`
			p, err := plan.Parse(filepath.Join(dir, "feed.yaml"), []byte(src), plan.Options{StepKinds: driver.Drivers(),
				Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			prog, err := engine.Prepare(p, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := prog.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			rc.mu.Lock()
			got := slices.Clone(rc.symbols)
			rc.mu.Unlock()
			if tt.anyOrder {
				slices.Sort(got)
				tt.want = slices.Clone(tt.want)
				slices.Sort(tt.want)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("deliveries %q, want %q", got, tt.want)
			}
			var feed, other *report.Scenario
			for i := range rep.Scenarios {
				switch rep.Scenarios[i].Name {
				case "feed":
					feed = &rep.Scenarios[i]
				case "other":
					other = &rep.Scenarios[i]
				}
			}
			o := feed.Outcomes
			intrOK := o.Interrupted == tt.intr && o.Dropped == 0 && o.Late == 0
			if tt.open {
				intrOK = o.Interrupted >= tt.intr
			}
			if o.OK != tt.ok || o.Failed != tt.failed || !intrOK || o.Due != o.OK+o.Failed+o.Interrupted+o.Dropped+o.Late {
				t.Errorf("outcomes %+v, want ok %d failed %d interrupted %d, all accounted", o, tt.ok, tt.failed, tt.intr)
			}
			if tt.open && o.Due >= 40 {
				t.Errorf("%d hits due: the scenario did not stop when its rows ran out", o.Due)
			}
			if tt.failed > 0 && feed.ErrorsBy["data"] != tt.failed {
				t.Errorf("errors by class %v, want %d of class data", feed.ErrorsBy, tt.failed)
			}
			if tt.aborted == "" && feed.Aborted != "" || !strings.Contains(feed.Aborted, tt.aborted) {
				t.Errorf("aborted %q, want it to say %q", feed.Aborted, tt.aborted)
			}
			if other.Outcomes.OK != 3 || other.Aborted != "" {
				t.Errorf("scenario other: %+v, aborted %q: it reads no data", other.Outcomes, other.Aborted)
			}
		})
	}
}

// A step reading an unknown column of a data source is refused at
// validation, at the column's name in the step's template, with the
// nearest column and where the columns are written in the data file.
func TestDataUnknownColumnInStep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "signals.csv"), []byte("symbol,side,price\nBTC,BUY,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `version: 1
targets:
  hook: {driver: webhook, flavor: generic, url: "http://127.0.0.1:1/hook"}
data:
  signals: {file: signals.csv}
scenarios:
  feed:
    load: {vus: 1, iterations: 1}
    steps:
      - webhook: {json: {price: "{{ data.signals.prize }}"}}
`
	p, err := plan.Parse(filepath.Join(dir, "feed.yaml"), []byte(src), plan.Options{StepKinds: driver.Drivers(),
		Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	diags := engine.Validate(p).Errors()
	want := filepath.Join(dir, "feed.yaml") + `:10:50: webhook: template "{{ data.signals.prize }}": data source signals has no column "prize" (did you mean "price"?) (its columns at ` +
		filepath.Join(dir, "signals.csv") + `:1:1: symbol, side, price)`
	if len(diags) != 1 || diags[0].String() != want {
		t.Fatalf("diagnostics:\n%s\nwant:\n%s", diags.Error(), want)
	}
}

// Pick random draws from the VU's seeded source: the same seed delivers
// the same rows, another seed others.
func TestDataRandomIsSeeded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("symbol,price\n")
	for i := range 50 {
		b.WriteString("S" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + ",1\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "s.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(seed string) []string {
		rc := &recorder{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		src := `version: 1
seed: ` + seed + `
targets:
  hook: {driver: webhook, flavor: generic, url: "` + srv.URL + `/hook", retries: 0, rate_limit: ignore}
data:
  s: {file: s.csv, pick: random}
scenarios:
  feed:
    load: {vus: 1, iterations: 20}
    steps:
      - webhook: {json: {symbol: "{{ data.s.symbol }}", price: "{{ data.s.price }}"}}
        expect: {status: 204}
`
		p, err := plan.Parse(filepath.Join(dir, "r.yaml"), []byte(src), plan.Options{StepKinds: driver.Drivers(),
			Env: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatal(err)
		}
		prog, err := engine.Prepare(p, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prog.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return slices.Clone(rc.symbols)
	}
	a, b2, c := run("7"), run("7"), run("8")
	if len(a) != 20 || !slices.Equal(a, b2) {
		t.Fatalf("seed 7 twice: %q and %q", a, b2)
	}
	if slices.Equal(a, c) {
		t.Fatalf("seeds 7 and 8 drew the same rows: %q", a)
	}
	if slices.Equal(a[:10], a[10:]) {
		t.Fatalf("rows %q: not random", a)
	}
}
