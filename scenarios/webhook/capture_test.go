package webhook

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

// A step with captures returns the answer as {status, headers, body,
// json}, through the fast client and through net/http alike; the same
// step without captures returns nothing.
func TestStepReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		flavor string
		query  string
		answer string // the body of a 200
		want   map[string]any
	}{
		{name: "json", answer: `{"id":"1180000000000000001","n":9007199254740993,"f":1.5,"a":[true,null]}`,
			want: map[string]any{"id": "1180000000000000001", "n": int64(9007199254740993), "f": 1.5, "a": []any{true, nil}}},
		{name: "discord wait", flavor: "flavor: discord\n", query: "?wait=true", answer: `{"id":"42","channel_id":"7"}`,
			want: map[string]any{"id": "42", "channel_id": "7"}},
		{name: "not json", answer: "ok then", want: nil},
		{name: "two values", answer: `{} {}`, want: nil},
		{name: "empty", answer: "", want: nil},
	}
	for _, client := range []string{"fast", "net/http"} {
		for _, tt := range tests {
			t.Run(client+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				url := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("x-ratelimit-remaining", "4")
					w.Header().Add("X-Multi", "first")
					w.Header().Add("X-Multi", "second")
					_, _ = w.Write([]byte(tt.answer))
				})
				c, err := configureFor(urlTarget(t, url+tt.query, tt.flavor))
				if err != nil {
					t.Fatal(err)
				}
				c.cfg.noFast = client == "net/http"
				tg, err := c.Open(context.Background(), driver.Env{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = tg.Close() })
				if _, fast := tg.(*Target); fast && (tg.(*Target).fast != nil) != (client == "fast") {
					t.Fatalf("target's fast client %v, want %s", tg.(*Target).fast != nil, client)
				}
				for _, want := range []bool{true, false} {
					spec := driver.StepSpec{Name: "send", Node: node(t, "{json: {content: hi}}"), Templates: tmpl.NewCompiler(), WantReply: want}
					st, err := c.Prepare(spec)
					if err != nil {
						t.Fatal(err)
					}
					if err := st.Bind(tg); err != nil {
						t.Fatal(err)
					}
					out := st.Do(context.Background(), iteration())
					if out.Err != nil {
						t.Fatalf("Do: %v", out.Err)
					}
					if !want {
						if out.Reply != nil {
							t.Errorf("a step without captures returned the reply %#v", out.Reply)
						}
						continue
					}
					r, _ := out.Reply.(map[string]any)
					h, _ := r["headers"].(map[string]any)
					switch {
					case r == nil:
						t.Fatalf("reply %#v, want a map", out.Reply)
					case r["status"] != 200:
						t.Errorf("status %#v, want 200", r["status"])
					case r["body"] != tt.answer:
						t.Errorf("body %#v, want %q", r["body"], tt.answer)
					case h["X-Ratelimit-Remaining"] != "4" || h["X-Multi"] != "first":
						t.Errorf("headers %#v, want canonical names and first values", h)
					}
					if tt.want == nil && r["json"] != nil || tt.want != nil && !reflect.DeepEqual(r["json"], tt.want) {
						t.Errorf("json %#v, want %#v", r["json"], tt.want)
					}
				}
			})
		}
	}
}

// A failed delivery returns no reply, whatever the step captures.
func TestStepReplyOnFailure(t *testing.T) {
	t.Parallel()
	url := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"id":"1"}`))
	})
	c, err := configureFor(urlTarget(t, url, "retries: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := c.Open(context.Background(), driver.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	st, err := c.Prepare(driver.StepSpec{Name: "send", Node: node(t, "{json: {content: hi}}"), Templates: tmpl.NewCompiler(), WantReply: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Bind(tg); err != nil {
		t.Fatal(err)
	}
	out := st.Do(context.Background(), iteration())
	if out.Err == nil || !strings.Contains(out.Err.Error(), "400") || out.Reply != nil {
		t.Errorf("outcome %v, reply %#v: want a failure with status 400 and no reply", out.Err, out.Reply)
	}
}
