package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// clients are the two ways a target sends: the fast HTTP/1.1 client (plain
// http without a proxy) and net/http (https, proxies). Tests of behaviour
// run on both.
var clients = []string{"fast", "net/http"}

// useClient makes tg send through client.
func useClient(tg driver.Target, client string) driver.Target {
	wt := tg.(*Target)
	switch {
	case client == "net/http" && wt.fast != nil:
		wt.fast.closeIdle()
		wt.fast = nil
	case client == "fast" && wt.fast == nil && strings.HasPrefix(wt.url, "http:"):
		panic("no fast client for " + wt.Addr())
	}
	return tg
}

// Each flavor against its embedded sink: what success is, and how the
// service's errors are read.
func TestFlavors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, target, step, expect string
		class, errHas              string
		content                    string // recorded by the sink on success
	}{
		{name: "discord 204", target: "flavor: discord", step: "{json: {content: 'sig {{ vu }}'}}", expect: "{status: 204}", content: "sig 1"},
		{name: "discord wait", target: "flavor: discord", step: "{json: {content: hi, embeds: [{title: t, fields: [{name: n, value: v}]}]}, query: {wait: true, thread_id: 7}}", expect: "{status: 200}", content: "hi"},
		{name: "discord multipart", target: "flavor: discord", step: "{body: \"--b\\r\\nContent-Disposition: form-data; name=\\\"payload_json\\\"\\r\\n\\r\\n{\\\"content\\\":\\\"mp\\\"}\\r\\n--b--\\r\\n\", headers: {Content-Type: 'multipart/form-data; boundary=b'}}", content: "mp"},
		{name: "discord unknown webhook", target: "sink: {send_to: unknown_webhook}", step: "{json: {content: hi}}", class: "discord_10015", errHas: "Discord code 10015: Unknown Webhook"},
		{name: "discord wrong token", target: "sink: {send_to: wrong_token}", step: "{json: {content: hi}}", class: "discord_50027", errHas: "Discord code 50027: Invalid Webhook Token"},
		{name: "discord embed total", target: "flavor: discord", step: "{json: {embeds: [{description: '{{ randstr(4000) }}'}, {description: '{{ randstr(2001) }}'}]}}", class: "discord_50035", errHas: "embeds: Embed size exceeds maximum size of 6000"},
		{name: "slack ok", target: "flavor: slack", step: "{json: {text: 'alert {{ vu }}'}}", expect: "{status: 200}", content: "alert 1"},
		{name: "slack no text", target: "flavor: slack", step: "{json: {username: x}}", class: "slack_no_text", errHas: "status 400 (Slack: no_text)"},
		{name: "slack invalid payload", target: "flavor: slack", step: "{body: 'not json'}", class: "slack_invalid_payload"},
		{name: "slack wrong token", target: "flavor: slack\nsink: {send_to: wrong_token}", step: "{json: {text: hi}}", class: "slack_invalid_token", errHas: "status 403"},
		{name: "slack unknown", target: "flavor: slack\nsink: {send_to: unknown_webhook}", step: "{json: {text: hi}}", class: "slack_no_service", errHas: "status 404"},
		{name: "generic", target: "flavor: generic", step: "{body: 'anything {{ vu }}', headers: {Content-Type: text/plain}}", expect: "{status: 204}", content: "anything 1"},
		{name: "generic wrong token", target: "flavor: generic\nsink: {send_to: wrong_token}", step: "{json: {a: 1}}", class: "http_404", errHas: "status 404 (not_found)"},
		{name: "generic github signature", target: "flavor: generic\nsigning: {scheme: github, secret: s3cr3t-" + canary + "}", step: "{json: {event: push}}", content: `{"event":"push"}`},
		{name: "generic standard signature", target: "flavor: generic\nsigning: {scheme: standard, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'}", step: "{json: {event: push}}", content: `{"event":"push"}`},
	}
	for _, tt := range tests {
		for _, client := range clients {
			t.Run(tt.name+"/"+client, func(t *testing.T) {
				t.Parallel()
				tg, sk := sinkTarget(t, tt.target+"\n")
				useClient(tg, client)
				st := bound(t, tg, tt.step, tt.expect)
				out := st.Do(context.Background(), iteration())
				if out.Class != tt.class || (out.Err == nil) != (tt.class == "") {
					t.Fatalf("class %q err %v, want class %q", out.Class, out.Err, tt.class)
				}
				if tt.errHas != "" && !strings.Contains(out.Err.Error(), tt.errHas) {
					t.Errorf("error %q does not contain %q", out.Err, tt.errHas)
				}
				if out.Err != nil {
					checkNoToken(t, out.Err, sk.Token())
					checkNoToken(t, out.Err, canary)
					return
				}
				msgs := sk.Messages()
				if len(msgs) != 1 || msgs[0].Content != tt.content {
					t.Fatalf("sink recorded %+v, want content %q", msgs, tt.content)
				}
				if !strings.HasPrefix(msgs[0].Key, "r1/hook/") || msgs[0].Duplicate {
					t.Errorf("message key %q duplicate %v", msgs[0].Key, msgs[0].Duplicate)
				}
			})
		}
	}
}

// answer serves a fixed answer and counts the requests.
func answer(t *testing.T, status int, contentType, body string, hits *atomic.Int64) string {
	t.Helper()
	return hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if hits != nil {
			hits.Add(1)
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// Every error class, each from a real server misbehaving that way.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	garbage := sink.New(sink.Options{Flavor: sink.FlavorGeneric, Fault: &sink.Fault{Garbage: true}})
	if err := garbage.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = garbage.Close() })
	tests := []struct {
		name, url, target, step, expect string
		resolverFails                   bool
		class, errHas                   string
	}{
		{name: "dns", url: "http://hook.invalid/hooks/" + canary, target: "flavor: generic", resolverFails: true, class: ClassDNS, errHas: "dns: "},
		{name: "malformed transport", url: garbage.URL(), class: ClassMalformed, errHas: "malformed answer: "},
		{name: "malformed discord object", url: answer(t, 200, "application/json", `{"ok":true}`, nil) + "/api/webhooks/1/" + canary, step: "{json: {content: hi}, query: {wait: 'true'}}", class: ClassMalformed, errHas: "without a Discord message object"},
		{name: "malformed slack", url: answer(t, 200, "text/html", "<html>"+canary+"</html>", nil) + "/services/T/B/" + canary, target: "flavor: slack", class: ClassMalformed, errHas: `without Slack's "ok"`},
		{name: "server error", url: answer(t, 503, "text/plain", "upstream down", nil) + "/hook", target: "retries: 0", class: ClassServerError, errHas: "status 503 (upstream down)"},
		{name: "discord 5xx", url: answer(t, 502, "application/json", `{"message":"502: Bad Gateway","code":0}`, nil) + "/api/webhooks/1/" + canary, target: "retries: 0", class: ClassServerError, errHas: "status 502 (Discord: 502: Bad Gateway)"},
		{name: "http 4xx", url: answer(t, 410, "text/plain", "gone", nil) + "/hook", class: "http_410"},
		{name: "redirect", url: answer(t, 302, "", "", nil) + "/hook", class: ClassUnexpectedStatus, errHas: "status 302"},
		{name: "rate limited, ignore", url: answer(t, 429, "application/json", `{"retry_after":1}`, nil) + "/hook", target: "rate_limit: ignore", class: ClassRateLimited},
	}
	for _, tt := range tests {
		for _, client := range clients {
			t.Run(tt.name+"/"+client, func(t *testing.T) {
				t.Parallel()
				tg := useClient(open(t, urlTarget(t, tt.url, tt.target+"\n")), client).(*Target)
				if tt.resolverFails {
					tg.setDial((&net.Dialer{Resolver: &net.Resolver{PreferGo: true,
						Dial: func(context.Context, string, string) (net.Conn, error) {
							return nil, errors.New("no name server in tests")
						}}}).DialContext)
				}
				step := tt.step
				if step == "" {
					step = "{json: {content: hi, text: hi}}"
				}
				out := bound(t, tg, step, tt.expect).Do(context.Background(), iteration())
				if out.Class != tt.class || out.Err == nil {
					t.Fatalf("class %q err %v, want %q", out.Class, out.Err, tt.class)
				}
				if !strings.Contains(out.Err.Error(), tt.errHas) {
					t.Errorf("error %q does not contain %q", out.Err, tt.errHas)
				}
				checkNoToken(t, out.Err, canary)
				checkNoToken(t, out.Err, garbage.Token())
			})
		}
	}
}

// Retries: 5xx and connection failures are retried with backoff, other
// client errors never.
func TestRetries(t *testing.T) {
	t.Parallel()
	flaky := func(failures int64, status int) (string, *atomic.Int64) {
		var hits atomic.Int64
		u := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if n := hits.Add(1); n <= failures {
				if status == 0 {
					hijack("", true)(w, r)
					return
				}
				w.WriteHeader(status)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		return u + "/hook", &hits
	}
	const fast = "retries: {max: 3, backoff: 1ms, max_backoff: 4ms}\n"
	tests := []struct {
		name        string
		failures    int64
		status      int // 0: reset the connection
		target      string
		class       string
		requests    int64
		errHas      string
		wantRetries float64
	}{
		{name: "503 twice then 204", failures: 2, status: 503, target: fast, requests: 3, wantRetries: 2},
		{name: "reset then 204", failures: 1, status: 0, target: fast, requests: 2, wantRetries: 1},
		{name: "500 beyond the retries", failures: 10, status: 500, target: fast, class: ClassServerError, requests: 4, errHas: "(after 4 attempts)", wantRetries: 3},
		{name: "no retries", failures: 10, status: 503, target: "retries: 0\n", class: ClassServerError, requests: 1},
		{name: "400 never", failures: 10, status: 400, target: fast, class: "http_400", requests: 1},
		{name: "401 never", failures: 10, status: 401, target: fast, class: "http_401", requests: 1},
		{name: "404 never", failures: 10, status: 404, target: fast, class: "http_404", requests: 1},
	}
	for _, tt := range tests {
		for _, client := range clients {
			t.Run(tt.name+"/"+client, func(t *testing.T) {
				t.Parallel()
				u, hits := flaky(tt.failures, tt.status)
				tg := useClient(open(t, urlTarget(t, u, tt.target)), client).(*Target)
				out := bound(t, tg, "{json: {n: 1}}", "").Do(context.Background(), iteration())
				if out.Class != tt.class || (out.Err == nil) != (tt.class == "") {
					t.Fatalf("class %q err %v, want %q", out.Class, out.Err, tt.class)
				}
				if got := hits.Load(); got != tt.requests {
					t.Errorf("%d requests, want %d", got, tt.requests)
				}
				if tt.errHas != "" && !strings.Contains(out.Err.Error(), tt.errHas) {
					t.Errorf("error %q does not contain %q", out.Err, tt.errHas)
				}
				stats, _ := tg.ServerStats(context.Background())
				if stats[statClientRetries] != tt.wantRetries || stats[statClientRequests] != float64(tt.requests) {
					t.Errorf("client stats %v", stats)
				}
			})
		}
	}
}

// A service that stores a message and then fails makes a retrying client
// deliver it twice: the sink sees the duplicate, by the message key the
// driver keeps across retries.
func TestRetryDuplicateSeenBySink(t *testing.T) {
	t.Parallel()
	tg, sk := sinkTarget(t, "retries: {max: 2, backoff: 1ms, max_backoff: 2ms}\nsink: {rate_limit: off, fault: {status: 500, delivered: true, ratio: 0.5}}\n")
	st := bound(t, tg, "{json: {content: 'n {{ iteration }}'}}", "{status: 204}")
	for i := range 2 {
		it := iteration()
		it.Templates.SetIteration(int64(i))
		if out := st.Do(context.Background(), it); out.Err != nil {
			t.Fatalf("delivery %d: %v", i, out.Err)
		}
	}
	s := sk.Stats()
	if s.Received != 3 || s.Delivered != 2 || s.Duplicates != 1 || s.Faulted != 1 || s.OutOfOrder != 0 {
		t.Errorf("sink stats %+v, want 3 received, 2 delivered, 1 duplicate", s)
	}
	msgs := sk.Messages()
	if len(msgs) != 3 || !msgs[2].Duplicate || msgs[1].Key != msgs[2].Key {
		t.Errorf("messages %+v", msgs)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	spec := urlTarget(t, "http://127.0.0.1:9/hook", "retries: {max: 5, backoff: 100ms, max_backoff: 1s}\n")
	cfg, err := parseTarget(spec)
	if err != nil {
		t.Fatal(err)
	}
	st := &step{t: &Target{cfg: cfg}}
	for n, full := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 9: time.Second} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := st.backoff(n, iteration())
			if d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("backoff(%d) has no jitter: %v", n, seen)
		}
	}
}

// A webhook that answered 404 is retired: later deliveries are not sent.
func TestRetiredAfter404(t *testing.T) {
	t.Parallel()
	tg, sk := sinkTarget(t, "sink: {send_to: unknown_webhook}\n")
	st := bound(t, tg, "{json: {content: hi}}", "")
	if out := st.Do(context.Background(), iteration()); out.Class != "discord_10015" {
		t.Fatalf("first delivery: class %q err %v", out.Class, out.Err)
	}
	for range 3 {
		out := st.Do(context.Background(), iteration())
		if out.Class != ClassRetired || !strings.Contains(out.Err.Error(), "retired") {
			t.Fatalf("class %q err %v", out.Class, out.Err)
		}
	}
	if got := sk.Stats().Received; got != 1 {
		t.Errorf("the sink received %d requests, want 1", got)
	}
	stats, _ := tg.ServerStats(context.Background())
	if stats[statClientRetired] != 1 || stats[statClientRefused] != 3 {
		t.Errorf("client stats %v", stats)
	}
}

// The invalid-request budget stops the scenario (driver.ErrAbortScenario)
// once spent, and nothing more is sent.
func TestInvalidBudget(t *testing.T) {
	t.Parallel()
	tg, sk := sinkTarget(t, "sink: {send_to: wrong_token}\ninvalid_budget: {max: 3, per: 10m}\n")
	st := bound(t, tg, "{json: {content: hi}}", "")
	for i := range 2 {
		out := st.Do(context.Background(), iteration())
		if out.Class != "discord_50027" || errors.Is(out.Err, driver.ErrAbortScenario) {
			t.Fatalf("delivery %d: class %q err %v", i, out.Class, out.Err)
		}
	}
	out := st.Do(context.Background(), iteration())
	if out.Class != "discord_50027" || !errors.Is(out.Err, driver.ErrAbortScenario) || !errors.Is(out.Err, ErrUnexpectedStatus) ||
		!strings.Contains(out.Err.Error(), "invalid-request budget (3 per 10m0s) is spent") {
		t.Fatalf("third delivery: class %q err %v", out.Class, out.Err)
	}
	out = st.Do(context.Background(), iteration())
	if out.Class != ClassInvalidBudget || !errors.Is(out.Err, driver.ErrAbortScenario) {
		t.Fatalf("fourth delivery: class %q err %v", out.Class, out.Err)
	}
	if got := sk.Stats().Received; got != 3 {
		t.Errorf("the sink received %d requests, want 3", got)
	}
	checkNoToken(t, out.Err, sk.Token())
}

func TestBudgetWindow(t *testing.T) {
	t.Parallel()
	b := newBudget(3, time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	if b.add(t0) || b.add(t0.Add(time.Second)) {
		t.Fatal("spent after two")
	}
	// The first two have left the window a minute later.
	if b.add(t0.Add(65 * time.Second)) {
		t.Fatal("old invalid requests still counted")
	}
	if b.add(t0.Add(66*time.Second)) || !b.add(t0.Add(67*time.Second)) {
		t.Fatal("three within a minute did not spend the budget")
	}
	if !b.add(t0.Add(time.Hour)) {
		t.Fatal("a spent budget recovered")
	}
}

// Signing: what the driver sends verifies at the sink, with the headers of
// each scheme; a wrong secret is refused.
func TestSigning(t *testing.T) {
	t.Parallel()
	const std = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	tests := []struct {
		name, target, sinkScheme, sinkSecret string
		class                                string
	}{
		{name: "github", target: "signing: {scheme: github, secret: topsecret}", sinkScheme: sink.SigningGitHub, sinkSecret: "topsecret"},
		{name: "github wrong secret", target: "signing: {scheme: github, secret: other}", sinkScheme: sink.SigningGitHub, sinkSecret: "topsecret", class: "http_401"},
		{name: "github unsigned", target: "", sinkScheme: sink.SigningGitHub, sinkSecret: "topsecret", class: "http_401"},
		{name: "standard", target: "signing: {scheme: standard, secret: " + std + "}", sinkScheme: sink.SigningStandard, sinkSecret: std},
		{name: "standard wrong key", target: "signing: {scheme: standard, secret: whsec_dGVzdA==}", sinkScheme: sink.SigningStandard, sinkSecret: std, class: "http_401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sk := sink.New(sink.Options{Flavor: sink.FlavorGeneric, Signing: tt.sinkScheme, Secret: tt.sinkSecret})
			if err := sk.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sk.Close() })
			tg := open(t, urlTarget(t, sk.URL(), "flavor: generic\nretries: 0\n"+tt.target+"\n"))
			out := bound(t, tg, "{json: {event: 'e{{ iteration }}'}}", "").Do(context.Background(), iteration())
			if out.Class != tt.class || (out.Err == nil) != (tt.class == "") {
				t.Fatalf("class %q err %v, want %q", out.Class, out.Err, tt.class)
			}
			if out.Err != nil {
				for _, secret := range []string{"topsecret", std, sk.Token()} {
					checkNoToken(t, out.Err, secret)
				}
			}
		})
	}
}

// The Standard Webhooks id stays the same on a retry; the signature is
// fresh and valid on each attempt.
func TestStandardSigningHeaders(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, _ := sink.StandardKey(secret)
	var (
		mu   sync.Mutex
		ids  []string
		hits atomic.Int64
	)
	u := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		if r.Header.Get("webhook-signature") != sink.SignStandard(key, id, ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	tg := open(t, urlTarget(t, u+"/hook", "signing: {scheme: standard, secret: "+secret+"}\nretries: {max: 1, backoff: 1ms}\n"))
	if out := bound(t, tg, "{json: {a: 1}}", "").Do(context.Background(), iteration()); out.Err != nil {
		t.Fatal(out.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != ids[1] || !strings.HasPrefix(ids[0], "msg_") {
		t.Errorf("webhook ids %q", ids)
	}
}
