package webhook

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// Warnings at validation for load aimed at real Discord or Slack webhooks
// beyond their documented limits. Prepare does no I/O, so nothing is sent.
func TestLoadWarnings(t *testing.T) {
	t.Parallel()
	const discord = "https://discord.com/api/webhooks/123/" + canary
	tests := []struct {
		name, url, extra string
		load             driver.LoadInfo
		want             []string // substrings, one warning each; none: no warning
	}{
		{name: "discord open fast", url: discord, load: driver.LoadInfo{Model: "open", Rate: 4, VUs: 10, Duration: time.Minute},
			want: []string{"aims 4 requests/s at a real Discord webhook, which allows about 5 requests per 2 s per webhook"}},
		{name: "discord open slow", url: discord, load: driver.LoadInfo{Model: "open", Rate: 2, VUs: 10, Duration: time.Minute}},
		{name: "discord closed", url: "https://ptb.discord.com/api/v10/webhooks/1/x", load: driver.LoadInfo{Model: "closed", VUs: 3, Duration: 20 * time.Second},
			want: []string{"closed loop (3 VUs for 20s"}},
		{name: "discord closed iterations", url: discord, load: driver.LoadInfo{Model: "closed", VUs: 1}},
		{name: "discord ignore", url: discord, extra: "rate_limit: ignore\n", load: driver.LoadInfo{Model: "open", Rate: 10},
			want: []string{"the excess is answered 429", "with rate_limit: ignore: its 429s count toward"}},
		{name: "slack", url: "https://hooks.slack.com/services/T/B/" + canary, load: driver.LoadInfo{Model: "open", Rate: 2},
			want: []string{"real Slack webhook, which allows about 1 message per second"}},
		{name: "local", url: "http://127.0.0.1:9/api/webhooks/1/x", load: driver.LoadInfo{Model: "open", Rate: 1000}},
		{name: "lookalike", url: "https://notdiscord.com/api/webhooks/1/x", load: driver.LoadInfo{Model: "open", Rate: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			spec := driver.StepSpec{
				Name: "deliver", Node: node(t, "{json: {content: hi}}"),
				Templates: tmpl.NewCompiler(), Load: tt.load,
				Warn: func(n *yaml.Node, msg string) { got = append(got, msg) },
			}
			if _, err := prepareOn(urlTarget(t, tt.url, tt.extra), spec); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q does not contain %q", got[i], w)
				}
				if strings.Contains(got[i], canary) {
					t.Errorf("warning %q leaks the token", got[i])
				}
			}
		})
	}
}

// ServerStats and ServerMetrics: the figures of a run, as checks see them,
// and every name documented in docs/WEBHOOKS.md.
func TestServerMetrics(t *testing.T) {
	t.Parallel()
	tg, _ := sinkTarget(t, "sink: {rate_limit: off}\n")
	first, err := tg.ServerStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := bound(t, tg, "{json: {content: 'n {{ iteration }}'}}", "")
	for i := range 4 {
		it := iteration()
		it.Templates.SetIteration(int64(i))
		if out := st.Do(context.Background(), it); out.Err != nil {
			t.Fatal(out.Err)
		}
	}
	bad := bound(t, tg, "{json: {content: ''}}", "")
	_ = bad.Do(context.Background(), iteration())
	last, _ := tg.ServerStats(context.Background())
	want := map[string]float64{
		"requests": 5, "retries": 0, "received": 5, "accepted": 4, "rejected": 1, "delivered": 4,
		"duplicates": 0, "out_of_order": 0, "duplicate_ratio": 0, "retired": 0, "budget_spent": 0, "rate_limited": 0,
	}
	got := map[string]float64{}
	names := map[string]bool{}
	doc, err := os.ReadFile("../../docs/WEBHOOKS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range (Driver{}).ServerMetrics() {
		if names[m.Name] || m.Help == "" || m.Compute == nil {
			t.Errorf("metric %q duplicated or incomplete", m.Name)
		}
		names[m.Name] = true
		if !strings.Contains(string(doc), "`"+m.Name+"`") {
			t.Errorf("docs/WEBHOOKS.md does not document %q", m.Name)
		}
		if v, ok := m.Compute(first, last, last, 2*time.Second); ok {
			got[m.Name] = v
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got["receive_rate"] != 2.5 || got["receive_latency_p99"] <= 0 || got["receive_latency_max"] < got["receive_latency_p50"] {
		t.Errorf("rate and latency figures %v", got)
	}

	// An external target has client figures only: sink figures are absent,
	// never zero, and so unavailable.
	ext := open(t, urlTarget(t, "http://127.0.0.1:9/hook", "")).(*Target)
	s, _ := ext.ServerStats(context.Background())
	if _, ok := s[statReceived]; ok {
		t.Error("an external target reports sink figures")
	}
	for _, m := range (Driver{}).ServerMetrics() {
		if m.Name == "received" {
			if _, ok := m.Compute(s, s, s, time.Second); ok {
				t.Error("received is available for an external target")
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ext.ServerStats(ctx); err == nil {
		t.Error("ServerStats ignored a cancelled context")
	}
}

// The canary token never appears in any output: Addr, logs, errors of every
// kind, the sink's request log, the stats.
func TestCanaryEverywhere(t *testing.T) {
	t.Parallel()
	var (
		logs  []string
		mu    sync.Mutex
		infos []sink.RequestInfo
	)
	record := func(ri sink.RequestInfo) { mu.Lock(); infos = append(infos, ri); mu.Unlock() }
	sk := sink.New(sink.Options{Token: canary, OnRequest: record, RateLimit: sink.NoLimit})
	if err := sk.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sk.Close() })
	for _, u := range []string{sk.URL(), sk.URL() + "?wait=true&token=" + canary, strings.Replace(sk.URL(), "/api/", "/api/v10/", 1)} {
		tg, err := openTargetSpec(context.Background(), urlTarget(t, u, "retries: 0\n"), driver.Env{Log: func(m string) { logs = append(logs, m) }})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []string{"{json: {content: hi}}", "{json: {content: ''}}", "{json: {content: '{{ uniform(vu - 1) }}'}}", "{method: get}"} {
			out := bound(t, tg, step, "").Do(context.Background(), iteration())
			if out.Err != nil {
				checkNoToken(t, out.Err, canary)
			}
		}
		if strings.Contains(tg.Addr(), canary) {
			t.Errorf("Addr %q", tg.Addr())
		}
		stats, _ := tg.(*Target).ServerStats(context.Background())
		for k := range stats {
			if strings.Contains(k, canary) {
				t.Errorf("stat %q", k)
			}
		}
		_ = tg.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(infos) < 9 {
		t.Fatalf("the sink saw %d requests", len(infos))
	}
	for _, ri := range infos {
		if strings.Contains(ri.Path, canary) || strings.Contains(ri.Message, canary) {
			t.Errorf("sink request info %+v", ri)
		}
	}
	for _, l := range logs {
		if strings.Contains(l, canary) {
			t.Errorf("log %q", l)
		}
	}
}

// The http fault kind makes the embedded sink misbehave for its window, and
// its undo restores the sink.
func TestHTTPFault(t *testing.T) {
	t.Parallel()
	spec := targetSpec(t, "driver: webhook\nretries: 0\nsink: {rate_limit: off}")
	prep := func(src string) (driver.Fault, error) {
		return prepareFaultOn(spec, driver.FaultSpec{Name: "outage", Kind: FaultHTTP, Node: node(t, src)})
	}
	f, err := prep("{status: 503, ratio: 0.5}")
	if err != nil {
		t.Fatal(err)
	}
	if s := f.(interface{ String() string }).String(); s != "http status 503, on 50% of requests" {
		t.Errorf("String() = %q", s)
	}
	tg := open(t, spec)
	st := bound(t, tg, "{json: {content: hi}}", "")
	classes := func() []string {
		var out []string
		for range 4 {
			out = append(out, st.Do(context.Background(), iteration()).Class)
		}
		return out
	}
	undo, err := f.Start(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(classes(), ","); got != ",server_error,,server_error" {
		t.Errorf("during the fault: %q", got)
	}
	if err := undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(classes(), ","); got != ",,," {
		t.Errorf("after the fault: %q", got)
	}
	for src, want := range map[string]string{
		"{ratio: 0.5}":      "say how the sink misbehaves",
		"{status: 1000}":    "fault status must be an integer from 100 to 599",
		"{stauts: 503}":     `did you mean "status"?`,
		"[503]":             "must be a mapping",
		"{hang: true}\n":    "",
		"{delay: 2s}\n":     "",
		"{garbage: true}\n": "",
	} {
		_, err := prep(src)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("PrepareFault(%s) = %v, want %q", src, err, want)
		}
	}
	_, err = prepareFaultOn(urlTarget(t, "https://discord.com/api/webhooks/1/"+canary, ""), driver.FaultSpec{Name: "x", Kind: FaultHTTP, Node: node(t, "{status: 503}")})
	if err == nil || !strings.Contains(err.Error(), "use a network fault") || strings.Contains(err.Error(), canary) {
		t.Errorf("external target: %v", err)
	}
	if _, err := f.Start(context.Background(), otherTarget{}); err == nil {
		t.Error("Start on a foreign target succeeded")
	}
}

// With network faults in the plan, every connection goes through the
// engine's fault proxy (Env.Via).
func TestDialsThroughVia(t *testing.T) {
	t.Parallel()
	_, sk := sinkTarget(t, "sink: {rate_limit: off}\n")
	real := sk.Addr()
	spec := urlTarget(t, strings.Replace(sk.URL(), real, "127.0.0.1:9", 1), "retries: 0\n")
	var asked []string
	var mu sync.Mutex
	via := func(upstream string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, upstream)
		return real, nil
	}
	tg := openEnv(t, spec, driver.Env{Via: via})
	if out := bound(t, tg, "{json: {content: hi}}", "").Do(context.Background(), iteration()); out.Err != nil {
		t.Fatal(out.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || asked[0] != "127.0.0.1:9" {
		t.Errorf("Via asked for %q", asked)
	}
}
