package tmpl

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestCompileCaptures(t *testing.T) {
	t.Parallel()
	c := NewCompiler("sid").WithCaptures([]string{"count"}, map[string]string{"own": "", "next": "read"})
	tests := []struct {
		name, src string
		off       int
		want      string // "" when it compiles
	}{
		{name: "path", src: "reply.json.id"},
		{name: "header", src: `reply.headers["X-Ratelimit-Remaining"]`},
		{name: "vars", src: "reply + vars.sid + vars.count"},
		{name: "incomplete", src: "reply.json.", off: 10, want: "unexpected end of expression"},
		{name: "template", src: "  {{ reply }}", off: 2, want: "a capture is an expression, not a template"},
		{name: "empty", src: " ", want: "empty expression"},
		{name: "unknown var", src: "vars.sdi", off: 5, want: `unknown var "sdi" (did you mean "sid"?)`},
		{name: "own capture", src: "vars.own", off: 5, want: "vars.own is captured by this step"},
		{name: "later capture", src: " vars.next", off: 6, want: "vars.next is captured by step read, which runs after this one"},
		{name: "unknown name", src: "replies", off: 0, want: "unknown name replies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, errs := c.CompileCaptures([]CaptureDef{{Name: "x", Src: tt.src}})
			if tt.want == "" {
				if errs != nil || cs.Len() != 1 {
					t.Fatalf("errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || cs != nil {
				t.Fatalf("errors %v, want one", errs)
			}
			var ce *CaptureError
			var te *Error
			if !errors.As(errs[0], &ce) || ce.Index != 0 || !errors.As(errs[0], &te) {
				t.Fatalf("error %#v, want a *CaptureError wrapping an *Error", errs[0])
			}
			if !strings.Contains(te.Error(), tt.want) || te.Offset != tt.off {
				t.Errorf("error %q at %d, want %q at %d", te.Error(), te.Offset, tt.want, tt.off)
			}
		})
	}
}

func TestCapturesEval(t *testing.T) {
	t.Parallel()
	webhook := map[string]any{
		"status":  200,
		"headers": map[string]any{"X-Ratelimit-Remaining": "4"},
		"body":    `{"id":"123"}`,
		"json":    map[string]any{"id": "123", "n": int64(9007199254740993), "list": []any{"a"}},
	}
	tests := []struct {
		name, src string
		reply     any
		want      any    // the value captured
		err       string // the error, "" when none
	}{
		{name: "field", src: "reply.json.id", reply: webhook, want: "123"},
		{name: "big integer", src: "reply.json.n", reply: webhook, want: int64(9007199254740993)},
		{name: "header", src: `reply.headers["X-Ratelimit-Remaining"]`, reply: webhook, want: "4"},
		{name: "arithmetic", src: "reply + 1", reply: int64(41), want: 42},
		{name: "reads vars", src: `vars.sid + ":" + reply`, reply: "x", want: "7:x"},
		{name: "missing field", src: "reply.json.ID", reply: webhook, err: `capture "x": reply.json has no field "ID" (did you mean "id"?)`},
		{name: "header not canonical", src: `reply.headers["x-ratelimit-remaining"]`, reply: webhook,
			err: `capture "x": reply.headers has no field "x-ratelimit-remaining" (did you mean "X-Ratelimit-Remaining"?)`},
		{name: "nil json", src: "reply.json.id", reply: map[string]any{"json": nil}, err: `capture "x": reply.json is nil`},
		{name: "nil reply", src: "reply", reply: nil, err: `capture "x": reply is nil`},
		{name: "field of nil reply", src: "reply.id", reply: nil, err: `capture "x": reply is nil`},
		{name: "field of a string", src: "reply.id", reply: "v", err: `capture "x": reply is a string, not a map: it has no field "id"`},
		{name: "index out of range", src: "reply.json.list[3]", reply: webhook, err: `capture "x": reply.json.list has 1 elements, no [3]`},
		{name: "expression gives nil", src: `reply.json.id == "1" ? reply.json.id : nil`, reply: webhook, err: `is nil`},
		{name: "runtime error", src: `int(reply)`, reply: "abc", err: `capture "x": `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewCompiler("sid")
			cs, errs := c.CompileCaptures([]CaptureDef{{Name: "x", Src: tt.src}})
			if errs != nil {
				t.Fatal(errs)
			}
			st := NewState("s", 1, rand.New(rand.NewPCG(1, 2)))
			st.env.Vars = map[string]any{"sid": "7"}
			err := cs.Eval(st, tt.reply)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if _, ok := st.Var("x"); ok {
					t.Error("a failed capture stored a value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := st.Var("x"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("captured %#v, want %#v", got, tt.want)
			}
		})
	}
}

// A step's templates read what the steps before captured, as vars.
func TestCapturedVarsRender(t *testing.T) {
	t.Parallel()
	cs, errs := NewCompiler().CompileCaptures([]CaptureDef{{Name: "id", Src: "reply.json.id"}})
	if errs != nil {
		t.Fatal(errs)
	}
	tp, err := NewCompiler().WithCaptures([]string{"id"}, nil).Compile("sent:{{ vars.id }}")
	if err != nil {
		t.Fatal(err)
	}
	st := NewState("s", 1, rand.New(rand.NewPCG(1, 2)))
	for _, id := range []string{"a", "b"} {
		if err := cs.Eval(st, map[string]any{"json": map[string]any{"id": id}}); err != nil {
			t.Fatal(err)
		}
		if got, err := tp.Render(st); err != nil || got != "sent:"+id {
			t.Errorf("render %q, %v; want sent:%s", got, err, id)
		}
	}
}
