package tmpl

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestRenderIsDeterministicPerSeed(t *testing.T) {
	t.Parallel()
	c := NewCompiler()
	tp, err := c.Compile("k:{{ uniform(1000) }}:{{ zipf(100, 1.2) }}:{{ randstr(6) }}:{{ seq(7) }}")
	if err != nil {
		t.Fatal(err)
	}
	render := func(seed uint64) []string {
		st := NewState("s", 1, rand.New(rand.NewPCG(seed, 1)))
		var out []string
		for i := range int64(20) {
			st.SetIteration(i)
			s, err := tp.Render(st)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	a, b, c2 := render(1), render(1), render(2)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatal("the same seed rendered differently")
	}
	if strings.Join(a, ",") == strings.Join(c2, ",") {
		t.Fatal("different seeds rendered the same")
	}
}

func TestCompileErrorsCarryOffsets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src    string
		offset int
		msg    string
	}{
		{"a {{ nope }}", 5, "unknown name nope"},
		{"ab {{  uniform( }}", 14, "incomplete expression"}, // at the open (
		{"x {{ 1 + }}", 7, "incomplete expression"},         // at the dangling +
		{"unclosed {{ vu", 9, "unclosed {{"},
		{"empty {{ }}", 9, "empty {{ }}"},
		{"{{ uniform(1.5) }}", 11, "cannot use number as argument"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := NewCompiler().Compile(tt.src)
			te, ok := err.(*Error)
			if !ok {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if te.Offset != tt.offset || !strings.Contains(te.Error(), tt.msg) {
				t.Fatalf("offset %d %q; want %d %q", te.Offset, te.Error(), tt.offset, tt.msg)
			}
		})
	}
}

func TestSingleExpressionKeepsItsType(t *testing.T) {
	t.Parallel()
	c := NewCompiler()
	st := NewState("sc", 3, rand.New(rand.NewPCG(1, 2)))
	st.SetIteration(41)
	for src, want := range map[string]any{"{{ iteration + 1 }}": 42, "{{ vu }}-x": "3-x", "{{ scenario }}": "sc", "plain": "plain"} {
		tp, err := c.Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tp.Value(st)
		if err != nil || got != want {
			t.Errorf("%q = %#v (%v), want %#v", src, got, err, want)
		}
	}
}

func TestGeneratorErrors(t *testing.T) {
	t.Parallel()
	st := NewState("s", 1, rand.New(rand.NewPCG(1, 2)))
	// Computed arguments (vu is 1): literal ones are refused at compile time
	// (TestCompileChecksLiteralArguments).
	for _, src := range []string{"{{ uniform(vu - 1) }}", "{{ zipf(10, vu * 1.0) }}", "{{ seq(vu - 2) }}"} {
		tp, err := NewCompiler().Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tp.Render(st); err == nil {
			t.Errorf("%s rendered without an error", src)
		}
	}
}

func TestSliceGivesEachVUItsOwnKeys(t *testing.T) {
	t.Parallel()
	tp, err := NewCompiler().Compile("{{ slice(12) }}")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[any]int{}
	for vu := 1; vu <= 3; vu++ {
		st := NewState("s", vu, rand.New(rand.NewPCG(1, 2)))
		st.SetVUs(3)
		var got []any
		for i := range int64(8) {
			st.SetIteration(i)
			v, _ := tp.Value(st)
			got = append(got, v)
			seen[v] = vu
		}
		// VU 2 owns keys 4..7, in turn.
		if vu == 2 && (got[0] != 4 || got[3] != 7 || got[4] != 4) {
			t.Fatalf("VU 2 got %v", got)
		}
	}
	if len(seen) != 12 {
		t.Fatalf("the VUs covered %d keys, want 12", len(seen))
	}
}
