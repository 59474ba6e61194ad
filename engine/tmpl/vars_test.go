package tmpl

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestVarsEvaluateInOrderKeepingTypes(t *testing.T) {
	t.Parallel()
	vars, errs := NewCompiler().CompileVars([]VarDef{
		{Name: "n", Src: "{{ uniform(1000000) }}"},
		{Name: "m", Src: "{{ vars.n + 1 }}"},
		{Name: "key", Src: "sess:{{ vars.n }}"},
		{Name: "ttl", Const: 60, IsConst: true},
		{Name: "half", Src: "{{ vars.ttl / 2 }}"},
	})
	if errs != nil {
		t.Fatal(errs)
	}
	step, err := vars.Compiler().Compile("{{ vars.key }}/{{ vars.m - vars.n }}/{{ vars.half }}")
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) []string {
		st := NewState("s", 1, rand.New(rand.NewPCG(seed, 1)))
		var out []string
		for i := range int64(10) {
			st.SetIteration(i)
			if err := vars.Eval(st); err != nil {
				t.Fatal(err)
			}
			n, _ := st.Var("n")
			m, _ := st.Var("m")
			if _, ok := n.(int); !ok {
				t.Fatalf("n = %v (%T), want an int", n, n)
			}
			if m != n.(int)+1 {
				t.Fatalf("m = %v, want n+1 = %v", m, n.(int)+1)
			}
			s, err := step.Render(st)
			if err != nil {
				t.Fatal(err)
			}
			if want := "sess:" + itoa(n.(int)) + "/1/30"; s != want {
				t.Fatalf("rendered %q, want %q", s, want)
			}
			out = append(out, s)
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatal("the same seed gave different vars")
	}
	if strings.Join(a, ",") == strings.Join(c, ",") {
		t.Fatal("different seeds gave the same vars")
	}
	if a[0] == a[1] {
		t.Fatal("vars were not drawn again in the next iteration")
	}
}

func itoa(n int) string { return string(AppendValue(nil, n)) }

func TestVarEvalErrorIsReturned(t *testing.T) {
	t.Parallel()
	vars, errs := NewCompiler().CompileVars([]VarDef{{Name: "n", Src: "{{ 5 }}"}, {Name: "bad", Src: "{{ uniform(vars.n - 5) }}"}})
	if errs != nil {
		t.Fatal(errs)
	}
	st := NewState("s", 1, rand.New(rand.NewPCG(1, 1)))
	st.SetIteration(0)
	err := vars.Eval(st)
	if err == nil || !strings.Contains(err.Error(), "var bad") || !strings.Contains(err.Error(), "uniform(0)") {
		t.Fatalf("err = %v", err)
	}
}

func TestVarReferencesAreChecked(t *testing.T) {
	t.Parallel()
	defs := []VarDef{{Name: "sid", Src: "{{ uniform(10) }}"}, {Name: "key", Src: "k{{ vars.sid }}"}}
	tests := []struct {
		name   string
		defs   []VarDef // compile these as vars; else src as a step of defs
		src    string
		offset int
		msg    string
	}{
		{name: "step unknown", src: "x{{ vars.sd }}", offset: 9, msg: `unknown var "sd" (did you mean "sid"?)`},
		{name: "step index", src: `{{ vars["kye"] }}`, offset: 8, msg: `unknown var "kye" (did you mean "key"?)`},
		{name: "step dynamic", src: `{{ vars[scenario] }}`, offset: 8, msg: "vars must be read by name"},
		{name: "step bare", src: `{{ len(vars) }}`, offset: 7, msg: "vars must be read by name"},
		{name: "forward", defs: []VarDef{{Name: "a", Src: "{{ vars.b }}"}, {Name: "b", Src: "1"}}, offset: 8, msg: "vars.b is defined below this var"},
		{name: "self", defs: []VarDef{{Name: "a", Src: "{{ vars.a }}"}}, offset: 8, msg: "var a reads itself"},
		{name: "unknown in var", defs: []VarDef{{Name: "abc", Src: "1"}, {Name: "b", Src: "{{ vars.abd }}"}}, offset: 8, msg: `did you mean "abc"?`},
		{name: "bad expression", defs: []VarDef{{Name: "a", Src: "{{ uniform( }}"}}, offset: 10, msg: "incomplete expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tt.defs != nil {
				_, errs := NewCompiler().CompileVars(tt.defs)
				if len(errs) != 1 {
					t.Fatalf("errs = %v, want one", errs)
				}
				err = errs[0]
			} else {
				vars, errs := NewCompiler().CompileVars(defs)
				if errs != nil {
					t.Fatal(errs)
				}
				_, err = vars.Compiler().Compile(tt.src)
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if te.Offset != tt.offset || !strings.Contains(te.Error(), tt.msg) {
				t.Fatalf("err at %d %q, want at %d containing %q", te.Offset, te.Error(), tt.offset, tt.msg)
			}
		})
	}
}

func TestNoVarsCompilerRefusesVars(t *testing.T) {
	t.Parallel()
	_, err := NewCompiler().Compile("{{ vars.sid }}")
	if err == nil || !strings.Contains(err.Error(), "defines no vars") {
		t.Fatalf("err = %v", err)
	}
}

// Without vars nothing is added to an iteration: a nil Vars evaluates
// without allocating, and a template's expressions run as before (a
// pointer to the environment, vars field and all). Not parallel:
// testing.AllocsPerRun counts the whole process's allocations.
func TestNoVarsAllocateNothing(t *testing.T) {
	var none *Vars
	tp, err := NewCompiler().Compile("k:{{ uniform(200) }}:{{ seq(7) }}")
	if err != nil {
		t.Fatal(err)
	}
	st := NewState("s", 1, rand.New(rand.NewPCG(1, 1)))
	buf := make([]byte, 0, 64)
	var i int64
	if n := testing.AllocsPerRun(100, func() {
		st.SetIteration(i)
		i++
		if err := none.Eval(st); err != nil {
			t.Fatal(err)
		}
		if _, err := tp.AppendTo(buf[:0], st); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per iteration without vars; want 0", n)
	}
}
