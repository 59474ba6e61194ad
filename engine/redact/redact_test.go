package redact

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"ping redis://app:hunter22@cache:6379/0: refused", "ping redis://app:****@cache:6379/0: refused"},
		{"ping redis://CANARYpw@127.0.0.1:1: NOAUTH", "ping redis://****@127.0.0.1:1: NOAUTH"},
		{`invalid url "redis://:CANA#RY/pw@host:1"`, `invalid url "redis://:****@host:1"`},
		{"a redis://:p@w@h:1 b", "a redis://:****@h:1 b"},
		{"already redis://app:****@h and redis://****@h", "already redis://app:****@h and redis://****@h"},
		{"Post https://discord.com/api/webhooks/123/CANARYtok?wait=true", "Post https://discord.com/api/webhooks/123/****?wait=true"},
		{"/api/v10/webhooks/123/CANARY-tok_en/slack", "/api/v10/webhooks/123/****/slack"},
		{"https://hooks.slack.com/services/T0/B0/CANARY", "https://hooks.slack.com/services/****"},
		{"http://127.0.0.1:9/services/T0AB/B0CD/CANARY now", "http://127.0.0.1:9/services/T0AB/B0CD/**** now"},
		{"https://h/cb?state=ok&code=CANARY&x=1", "https://h/cb?state=ok&code=****&x=1"},
		{"https://h/p?sig=CANARY", "https://h/p?sig=****"},
		{`"u":"https://h/p?a=1\u0026access_token=CANARY"`, `"u":"https://h/p?a=1\u0026access_token=****"`},
		{"https://h/p?a=1&amp;X-Api-Key=CANARY", "https://h/p?a=1&amp;X-Api-Key=****"},
		// Punctuation after a secret belongs to the sentence.
		{"invalid url https://discord.com/api/webhooks/1/CANARY: bad scheme", "invalid url https://discord.com/api/webhooks/1/****: bad scheme"},
		{"invalid url redis://h/0?sig=CANARY: unexpected option", "invalid url redis://h/0?sig=****: unexpected option"},
		{"(see https://h/?token=CANARY).", "(see https://h/?token=****)."},
		// Not credentials: left as they are.
		{"12:00:01 INF request code=10015 status=429", "12:00:01 INF request code=10015 status=429"},
		{"mail me at a@b.example", "mail me at a@b.example"},
		{"http://127.0.0.1:8080/hook?wait=true", "http://127.0.0.1:8080/hook?wait=true"},
		{"no url: here@there", "no url: here@there"},
	}
	for _, tc := range tests {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if got := Text(Text(tc.in)); got != tc.want {
			t.Errorf("Text is not idempotent on %q: %q", tc.in, got)
		}
	}
}

func TestMaskURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"redis://app:pw@cache:6379/0", "redis://app:****@cache:6379/0"},
		{"redis://CANARY@cache:6379", "redis://****@cache:6379"},
		{"redis://:CANA#RYpw@127.0.0.1:1", "redis://:****@127.0.0.1:1"},
		{"redis://127.0.0.1:6379", "redis://127.0.0.1:6379"},
		{"https://discord.com/api/webhooks/1234/CANARYtok3n", "https://discord.com/api/webhooks/1234/****"},
		{"https://hooks.slack.com/services/T00/B00/CANARY", "https://hooks.slack.com/services/****/****/****"},
		{"http://127.0.0.1:9/hook/Abc123?wait=true&thread_id=77&sig=CANARY#frag", "http://127.0.0.1:9/hook/****?wait=true&thread_id=77&sig=****#****"},
		{"rediss://h:1/0?dial_timeout=5s&client_name=runplan&x=Zq9vLw2", "rediss://h:1/0?dial_timeout=5s&client_name=runplan&x=****"},
		{"not a url", "not a url"},
	}
	for _, tc := range tests {
		if got := MaskURL(tc.in); got != tc.want {
			t.Errorf("MaskURL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestSecretName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"REDIS_URL": true, "DISCORD_WEBHOOK_URL": true, "REDIS_PASSWORD": true, "GITHUB_TOKEN": true, "API_KEY": true,
		"apiKey": true, "db_pass": true, "AWS_SECRET_ACCESS_KEY": true, "DSN": true, "SESSION_COOKIE": true,
		"KEY_PREFIX": false, "POOL_SIZE": false, "DURATION": false, "RATE": false, "": false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// Every form in which an output can print a registered value is masked:
// raw, and escaped the way JSON, HTML, XML, URLs and Go quoting escape it.
func TestAddVarMasksEveryEncoding(t *testing.T) {
	t.Parallel()
	const secret = `CANARY<&>"'\ü/+= x`
	r := New()
	r.AddVar("SIGNING_SECRET", secret)
	jsonHTML, _ := json.Marshal(secret)
	var xb strings.Builder
	_ = xml.EscapeText(&xb, []byte(secret))
	forms := map[string]string{
		"raw":   secret,
		"json":  string(jsonHTML),
		"html":  html.EscapeString(secret),
		"xml":   xb.String(),
		"query": url.QueryEscape(secret),
		"path":  url.PathEscape(secret),
		"%q":    fmt.Sprintf("%q", secret),
		"%+q":   fmt.Sprintf("%+q", secret),
	}
	for name, form := range forms {
		got := r.String("before " + form + " after")
		if strings.Contains(got, "CANARY") {
			t.Errorf("%s form not masked: %s", name, got)
		}
		if !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") {
			t.Errorf("%s form: the text around the secret changed: %s", name, got)
		}
	}
}

func TestAddVarRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		masked      bool
	}{
		{"REDIS_PASSWORD", "hunt", true},       // secret name, >= 4
		{"REDIS_PASSWORD", "abc", false},       // too short to mask without wrecking the output
		{"PLAN_NAME", "phase1-quick", true},    // any name, >= 8
		{"PLAN_NAME", "short", false},          // any name, < 8
		{"POOL_SIZE", "100000000", false},      // a number
		{"DURATION", "1m30s500ms", false},      // a duration
		{"AUTH_TOKEN", "true", false},          // a boolean, even under a secret name
		{"API_KEY", "12345678", false},         // a number, even under a secret name
		{"HOST", "redis://127.0.0.1:1", false}, // a URL without credentials is readable as it is
	}
	for _, tc := range tests {
		r := New()
		r.AddVar(tc.name, tc.value)
		got := r.String("x " + tc.value + " y")
		if masked := !strings.Contains(got, tc.value); masked != tc.masked {
			t.Errorf("%s=%q: masked %v, want %v (%q)", tc.name, tc.value, masked, tc.masked, got)
		}
	}
}

// A URL's password is masked even in the fragments an error message quotes
// when the password holds a delimiter that splits it in url.Parse.
func TestAddURLFragments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		texts []string
	}{
		{"redis://:CANA#RYpw@127.0.0.1:1", []string{`invalid port ":CANA" after host`, "fragment RYpw@127.0.0.1:1"}},
		{"redis://:CANA/RYpw@127.0.0.1:1", []string{`invalid port ":CANA" after host`, "path /RYpw@127.0.0.1:1"}},
		{"redis://app:CANA%2FRYpw@h:1", []string{"password CANA/RYpw", "CANA%2FRYpw"}},
		{"redis://CANARYpw@127.0.0.1:1", []string{"user CANARYpw"}},
		{"https://discord.com/api/webhooks/1/CANARYtok", []string{"token CANARYtok"}},
		{"https://h/p?state=1&code=CANA", []string{"code CANA"}},
	}
	for _, tc := range tests {
		r := New()
		r.AddVar("X", tc.value)
		for _, text := range append(tc.texts, "invalid url "+tc.value+": oops") {
			got := r.String(text)
			if strings.Contains(got, "CANA") {
				t.Errorf("%s: %q leaks: %q", tc.value, text, got)
			}
		}
	}
	// The whole URL keeps its readable parts.
	r := New()
	r.AddVar("REDIS_URL", "redis://app:CANA#RYpw@cache:6379/0")
	if got, want := r.String("invalid url redis://app:CANA#RYpw@cache:6379/0: bad"), "invalid url redis://app:****@cache:6379/0: bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNilRedactor(t *testing.T) {
	t.Parallel()
	var r *Redactor
	r.Add("CANARYsecret")
	r.AddVar("TOKEN", "CANARYsecret")
	if got := r.String("x redis://a:CANARY@h"); got != "x redis://a:****@h" {
		t.Errorf("nil redactor: %q", got)
	}
	var b bytes.Buffer
	w := r.NewWriter(&b)
	fmt.Fprint(w, "redis://CANARY@h\n")
	if strings.Contains(b.String(), "CANARY") {
		t.Errorf("nil redactor's writer leaks: %q", b.String())
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	r := New()
	r.Add("CANARYsecret")
	base := errors.New("boom CANARYsecret")
	err := r.Error(fmt.Errorf("x: %w", base))
	if strings.Contains(err.Error(), "CANARY") || !errors.Is(err, base) {
		t.Errorf("Error: %v (unwraps to base: %v)", err, errors.Is(err, base))
	}
	plain := errors.New("nothing here")
	if r.Error(plain) != plain || r.Error(nil) != nil {
		t.Error("Error changed an error with nothing secret in it")
	}
}

// A secret written one byte at a time, or split across writes at any
// point, never reaches the underlying writer.
func TestWriterNeverSplitsASecret(t *testing.T) {
	t.Parallel()
	r := New()
	r.Add("CANARYsecret")
	text := "log line with CANARYsecret inside\nand redis://u:CANARYpw@h:1 too\nno newline CANARYsecret"
	for split := 1; split < len(text); split++ {
		var b bytes.Buffer
		w := r.NewWriter(&b)
		for i := 0; i < len(text); i += split {
			if _, err := w.Write([]byte(text[i:min(i+split, len(text))])); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Contains(b.String(), "CANARY") {
			t.Fatalf("split %d: leaked before Flush: %q", split, b.String())
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		want := "log line with **** inside\nand redis://u:****@h:1 too\nno newline ****"
		if b.String() != want {
			t.Fatalf("split %d: got %q, want %q", split, b.String(), want)
		}
	}
}

func TestWriterConcurrent(t *testing.T) {
	t.Parallel()
	r := New()
	var b syncBuffer
	w := r.NewWriter(&b)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r.Add(fmt.Sprintf("CANARY-%d-secret", i))
			for range 50 {
				fmt.Fprintf(w, "worker %d: CANARY-%d-secret\n", i, i)
			}
		})
	}
	wg.Wait()
	_ = w.Close()
	if strings.Contains(b.String(), "CANARY") || strings.Count(b.String(), "\n") != 400 {
		t.Errorf("concurrent writes: %d lines, leak %v", strings.Count(b.String(), "\n"), strings.Contains(b.String(), "CANARY"))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestWriterUnwrap(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if New().NewWriter(&b).Unwrap() != io.Writer(&b) {
		t.Error("Unwrap does not return the underlying writer")
	}
}

func TestWalk(t *testing.T) {
	t.Parallel()
	type inner struct {
		Msg  string
		Any  any
		Data string `redact:"-"`
	}
	type outer struct {
		Name   string
		Ptr    *inner
		List   []inner
		ByName map[string]int
		Free   map[string]any
		hidden string
	}
	r := New()
	r.Add("CANARYsecret")
	v := &outer{
		Name:   "a CANARYsecret",
		Ptr:    &inner{Msg: "redis://u:CANARYpw@h", Any: "x CANARYsecret", Data: "CANARYsecret"},
		List:   []inner{{Msg: "CANARYsecret"}},
		ByName: map[string]int{"CANARYsecret": 1},
		Free:   map[string]any{"k": []any{"CANARYsecret", map[string]any{"n": "CANARYsecret"}}, "s": inner{Msg: "CANARYsecret"}},
		hidden: "CANARYsecret",
	}
	r.Walk(v)
	b, _ := json.Marshal(v)
	if strings.Count(string(b), "CANARY") != 1 || v.Ptr.Data != "CANARYsecret" {
		t.Errorf("Walk left or took the wrong strings: %s (data %q)", b, v.Ptr.Data)
	}
	if v.ByName[Mask] != 1 {
		t.Errorf("map key not masked: %v", v.ByName)
	}
}

// A URL's parse error is told without the piece of the URL it quotes.
func TestParseReason(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"http://127.0.0.1:CANARYport/x": "invalid port",
		"http://h/%zzCANARY":            "invalid URL escape",
		"http://[::1/CANARY":            "missing ']' in host",
		"http://h\x7f/CANARY":           "invalid control character in URL",
	} {
		_, err := url.Parse(raw)
		if err == nil {
			t.Fatalf("%q parses", raw)
		}
		if got := ParseReason(err); got != want {
			t.Errorf("%q: %q, want %q (from %v)", raw, got, want, err)
		}
	}
}

func TestUnmasked(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := New().NewWriter(&b)
	if Unmasked(w) != io.Writer(&b) {
		t.Error("Unmasked(masking writer) is not the writer below")
	}
	if Unmasked(&b) != io.Writer(&b) {
		t.Error("Unmasked(plain writer) is not the writer itself")
	}
	const hook = "https://discord.com/api/webhooks/123/CANARYtoken0123456789abcdefXYZ\n"
	fmt.Fprint(Unmasked(w), hook)
	if b.String() != hook {
		t.Errorf("unmasked output %q", b.String())
	}
}
