package tmpl

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzTemplate compiles arbitrary template strings and renders those that
// compile. Compiling never panics and places its errors inside the string;
// rendering never panics, text without `{{` renders as itself, and two
// states with the same seed render the same (now() aside).
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"plain text", "", "}}", "{{", "{{ }}", "a {{ vu }} b {{ iteration }}",
		"k:{{ uniform(1000) }}:{{ zipf(100, 1.2) }}:{{ randstr(6) }}:{{ seq(7) }}",
		"{{ gauss(10, 2) }}", "{{ slice(100) }}", "{{ now() }}", "{{ scenario + '-' + string(vu) }}",
		"{{ uniform(0) }}", "{{ zipf(10, 1) }}", "{{ randstr(-1) }}", "{{ seq(-3) }}", "{{ slice(0) }}",
		"{{ 1 / 0 }}", "{{ [1, 2][5] }}", "{{ nope }}", "{{ uniform( }}", "x {{ 'é' + }} y",
		"{{ vu > 1 ? 'a' : 'b' }}", "{{ map(1..3, # * 2) }}", "{{ {'a': 1}.a }}", "{{ 1..3 }}",
		"multi\n{{ vu\n+ 1 }}\n", "{{ zipf(5, 1.5) }}{{ zipf(5, 1.5) }}", "{{ int(gauss(0, 1e300)) }}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 512 {
			return // a template is a short string of a plan
		}
		tp, err := NewCompiler().Compile(src)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Offset < 0 || te.Offset > len(src) {
				t.Fatalf("Compile(%q): %v, not an *Error placed in the string", src, err)
			}
			return
		}
		render := func() []string {
			st := NewState("sc", 2, rand.New(rand.NewPCG(1, 2)))
			st.SetVUs(3)
			var out []string
			for i := range int64(3) {
				st.SetIteration(i)
				s, err := tp.Render(st)
				b, err2 := tp.AppendTo(nil, st)
				if (err == nil) != (err2 == nil) {
					t.Fatalf("Render and AppendTo disagree: %v, %v", err, err2)
				}
				if _, err := tp.Value(st); err == nil {
					out = append(out, s+"|"+string(b))
				}
			}
			return out
		}
		a := render()
		if !HasTemplate(src) {
			if !tp.Static() || len(a) != 3 || a[0] != src+"|"+src {
				t.Fatalf("text without a template rendered as %q", a)
			}
		}
		if !strings.Contains(src, "now") {
			if b := render(); strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Fatalf("the same seed rendered %q, then %q", a, b)
			}
		}
	})
}
