package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
)

// Captures run end to end on a webhook: the first step posts a message and
// captures the id the receiver answers with (as Discord does with
// ?wait=true) and a rate-limit header; the second step sends both back.
// An answer without the id fails the first step with class capture, and
// the second is never sent.
func TestWebhookCapturesRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		field     string // of the answer's JSON holding the message id
		wantFails int64
	}{
		{name: "id captured", field: "id"},
		{name: "id missing", field: "message_id", wantFails: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu    sync.Mutex
				edits []string
				n     atomic.Int64
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var body struct {
					Content string `json:"content"`
				}
				_ = json.NewDecoder(r.Body).Decode(&body)
				if r.URL.Path == "/edit" {
					mu.Lock()
					edits = append(edits, body.Content)
					mu.Unlock()
					w.WriteHeader(http.StatusNoContent)
					return
				}
				id := n.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(10-id))
				fmt.Fprintf(w, `{%q: "%d", "content": %q}`, tt.field, 1180000000000000000+id, body.Content)
			}))
			t.Cleanup(srv.Close)
			src := `version: 1
name: captures
targets:
  hook: {driver: webhook, url: "` + srv.URL + `/post"}
  edit: {driver: webhook, url: "` + srv.URL + `/edit"}
scenarios:
  messages:
    load: {vus: 1, iterations: 4}
    steps:
      - name: send
        webhook: {json: {content: "hello {{ iteration }}"}}
        target: hook
        capture: {msg_id: reply.json.id, remaining: 'int(reply.headers["X-Ratelimit-Remaining"])'}
      - name: edit
        webhook: {json: {content: "{{ vars.msg_id }} {{ vars.remaining }}"}}
        target: edit
`
			p, err := plan.Parse("captures.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			if diags := engine.Validate(p).Errors(); len(diags) > 0 {
				t.Fatal(diags)
			}
			prog, err := engine.Prepare(p, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := prog.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sc := rep.Scenarios[0]
			if sc.Count != 4 || sc.Errors != tt.wantFails || sc.ErrorsBy["capture"] != tt.wantFails {
				t.Fatalf("count %d errors %d %v, want 4 with %d of class capture", sc.Count, sc.Errors, sc.ErrorsBy, tt.wantFails)
			}
			var want []string
			for i := int64(1); i <= 4-tt.wantFails; i++ {
				want = append(want, fmt.Sprintf("%d %d", 1180000000000000000+i, 10-i))
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(edits, want) {
				t.Errorf("the second step sent %q, want %q", edits, want)
			}
		})
	}
}

// A capture's expression is checked at validation, at its position.
func TestWebhookCaptureValidation(t *testing.T) {
	t.Parallel()
	src := `version: 1
name: captures
targets:
  hook: {driver: webhook}
scenarios:
  messages:
    load: {vus: 1, iterations: 1}
    steps:
      - webhook: {json: {content: hi}}
        capture: {msg_id: 'reply.json.id +', status: reply.status}
      - webhook: {json: {content: "{{ vars.status }} {{ vars.msgid }}"}}
`
	p, diags := plan.ParseAll("captures.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	var got []string
	for _, d := range append(diags, engine.Validate(p)...).Errors().Sorted() {
		got = append(got, d.String())
	}
	want := []string{
		`captures.yaml:10:42: step webhook: capture msg_id: incomplete expression`,
		`captures.yaml:11:62: webhook: template "{{ vars.status }} {{ vars.msgid }}": unknown var "msgid" (did you mean "msg_id"?)`,
	}
	if len(got) != len(want) {
		t.Fatalf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("diagnostic %d:\n%s\nwant it to start with\n%s", i, got[i], want[i])
		}
	}
}
