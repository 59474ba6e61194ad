// Package tmpl compiles the `{{ expr }}` templates found in plan strings and
// renders them per iteration. The expressions use the same language as checks
// (expr-lang) over a small environment: vu, iteration, scenario and the
// generators uniform, zipf, gauss, seq, randstr and now, and a scenario's
// iteration variables as vars.NAME (Vars), and the row drawn from each
// data source as data.NAME.COLUMN (Compiler.WithData, State.SetData).
//
// A Template is immutable and safe for concurrent use once compiled. A State is
// owned by one virtual user (one goroutine) and reused across iterations; for a
// given seed, scenario and VU it produces the same sequence of values.
package tmpl

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Piece is one part of a template string: literal text, or an expression with
// its byte offset in the original string.
type Piece struct {
	Text   string
	IsExpr bool
	Offset int
}

// ErrUnclosed reports a `{{` without its `}}`.
var ErrUnclosed = errors.New("unclosed {{")

// Split cuts s into literal and expression pieces. It fails on an unclosed
// `{{`, giving the offset of the opening braces.
func Split(s string) ([]Piece, error) {
	var out []Piece
	i := 0
	for {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			if i < len(s) {
				out = append(out, Piece{Text: s[i:], Offset: i})
			}
			return out, nil
		}
		j += i
		if j > i {
			out = append(out, Piece{Text: s[i:j], Offset: i})
		}
		k := strings.Index(s[j+2:], "}}")
		if k < 0 {
			return nil, &Error{Offset: j, Err: ErrUnclosed}
		}
		k += j + 2
		inner := s[j+2 : k]
		lead := len(inner) - len(strings.TrimLeft(inner, " \t\n"))
		out = append(out, Piece{Text: strings.TrimSpace(inner), IsExpr: true, Offset: j + 2 + lead})
		i = k + 2
	}
}

// HasTemplate reports whether s contains `{{`.
func HasTemplate(s string) bool { return strings.Contains(s, "{{") }

// Error is a template error at a byte offset of the template string.
type Error struct {
	Offset int
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Env is the environment templates see. Function fields are bound per State.
type Env struct {
	VU        int                            `expr:"vu"`
	Iteration int                            `expr:"iteration"`
	Scenario  string                         `expr:"scenario"`
	Uniform   func(n int) int                `expr:"uniform"`
	Zipf      func(n int, s float64) int     `expr:"zipf"`
	Gauss     func(mean, sd float64) float64 `expr:"gauss"`
	Seq       func(n int) int                `expr:"seq"`
	Randstr   func(n int) string             `expr:"randstr"`
	Slice     func(n int) int                `expr:"slice"`
	Now       func() int64                   `expr:"now"`
	// Vars holds the scenario's iteration variables (see Vars.Eval); nil
	// in a scenario without vars.
	Vars map[string]any `expr:"vars"`
	// Data holds the row drawn this iteration from each data source the
	// scenario reads, by source then column (see State.SetData).
	Data map[string]map[string]any `expr:"data"`
}

// Compiler compiles template strings. The zero value is ready to use; its
// templates may read no vars (Vars.Compiler gives one that knows a
// scenario's). A Compiler is immutable and safe for concurrent use.
type Compiler struct {
	// vars are the names templates may read as vars.NAME.
	vars []string
	// later and inVar: compiling a var, later are it and the vars below
	// it, named in the error when read.
	later []string
	inVar bool
	// data are the data sources templates may read as data.NAME.COLUMN;
	// dataUse records those they read (see WithData).
	data    []DataSource
	dataUse *DataUse
	// captured maps the names captured by a step and the steps after it
	// to the step capturing them ("": the step itself), see WithCaptures.
	captured map[string]string
}

// NewCompiler returns a compiler whose templates may read the given vars
// (a scenario's, as vars.NAME) and no others.
func NewCompiler(vars ...string) *Compiler { return &Compiler{vars: slices.Clone(vars)} }

// Template is a compiled template string.
type Template struct {
	src   string
	parts []part
}

type part struct {
	text string
	prog *vm.Program
}

// Compile compiles s. Errors are *Error values carrying the offset in s.
func (c *Compiler) Compile(s string) (*Template, error) {
	pieces, err := Split(s)
	if err != nil {
		return nil, err
	}
	t := &Template{src: s}
	for _, p := range pieces {
		if !p.IsExpr {
			t.parts = append(t.parts, part{text: p.Text})
			continue
		}
		if p.Text == "" {
			return nil, &Error{Offset: p.Offset, Err: errors.New("empty {{ }}")}
		}
		prog, err := expr.Compile(p.Text, expr.Env(Env{}))
		if err != nil {
			off, msg := ExprError(p.Text, err)
			return nil, &Error{Offset: p.Offset + off, Err: errors.New(msg)}
		}
		if off, err := checkArgs(p.Text); err != nil {
			return nil, &Error{Offset: p.Offset + off, Err: err}
		}
		if strings.Contains(p.Text, "vars") {
			if off, err := c.checkVars(p.Text); err != nil {
				return nil, &Error{Offset: p.Offset + off, Err: err}
			}
		}
		if strings.Contains(p.Text, "data") {
			if off, err := c.checkData(p.Text); err != nil {
				return nil, &Error{Offset: p.Offset + off, Err: err}
			}
		}
		t.parts = append(t.parts, part{prog: prog})
	}
	return t, nil
}

// ExprError turns an expr-lang error about src into a byte offset in src
// and a message for plan authors: one line, no "(1:5)" suffix and no caret
// drawing, Go type names replaced by plain words.
func ExprError(src string, err error) (int, string) {
	var fe *file.Error
	if !errors.As(err, &fe) {
		msg := err.Error()
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return 0, Friendly(msg)
	}
	// Line is 1-based, Column 0-based and counted in runes.
	off := 0
	for l := 1; l < fe.Line; l++ {
		j := strings.IndexByte(src[off:], '\n')
		if j < 0 {
			break
		}
		off += j + 1
	}
	for c := 0; c < fe.Column && off < len(src); c++ {
		_, size := utf8.DecodeRuneInString(src[off:])
		off += size
	}
	return off, Friendly(fe.Message)
}

// Friendly rewrites expr-lang's messages in the words of a plan author.
func Friendly(msg string) string {
	switch {
	case msg == "unexpected token EOF":
		return "incomplete expression: something is missing at the end"
	case strings.HasPrefix(msg, "unexpected token EOF"):
		return "incomplete expression" + strings.TrimPrefix(msg, "unexpected token EOF")
	}
	r := strings.NewReplacer("float64", "number", "int64", "integer", "check.Duration", "duration", "tmpl.Env", "template")
	return r.Replace(msg)
}

// Source returns the template's original text.
func (t *Template) Source() string { return t.src }

// Static reports whether the template has no expression.
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.prog != nil {
			return false
		}
	}
	return true
}

// Single reports whether the template is exactly one expression, so that
// Value can keep the expression's type (a number stays a number in JSON).
func (t *Template) Single() bool { return len(t.parts) == 1 && t.parts[0].prog != nil }

// Value renders the template. A single-expression template returns the
// expression's value with its type; any other returns a string.
func (t *Template) Value(st *State) (any, error) {
	if t.Single() {
		return st.run(t.parts[0].prog)
	}
	return t.Render(st)
}

// Render renders the template to a string.
func (t *Template) Render(st *State) (string, error) {
	b, err := t.AppendTo(st.buf[:0], st)
	st.buf = b[:0]
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AppendTo appends the rendered template to b.
func (t *Template) AppendTo(b []byte, st *State) ([]byte, error) {
	for _, p := range t.parts {
		if p.prog == nil {
			b = append(b, p.text...)
			continue
		}
		v, err := st.run(p.prog)
		if err != nil {
			return b, err
		}
		b = AppendValue(b, v)
	}
	return b, nil
}

// AppendValue appends the textual form of a template value.
func AppendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return append(b, x...)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case nil:
		return b
	default:
		return fmt.Append(b, x)
	}
}

// State is the per-VU rendering state: the environment, a reusable VM and the
// random source. It is not safe for concurrent use.
type State struct {
	env   Env
	vm    vm.VM
	rng   *rand.Rand
	zipfs map[zipfKey]*rand.Zipf
	buf   []byte
	err   error
	// vus is the scenario's VU count; calls counts this VU's iterations.
	vus   int
	calls int
}

type zipfKey struct {
	n int
	s float64
}

// NewState returns the state for one virtual user. rng drives every
// generator, so the same rng seed yields the same values.
func NewState(scenario string, vu int, rng *rand.Rand) *State {
	st := &State{rng: rng}
	st.env = Env{
		VU:       vu,
		Scenario: scenario,
		Uniform: func(n int) int {
			if n <= 0 {
				st.fail(fmt.Errorf("uniform(%d): n must be positive", n))
				return 0
			}
			return st.rng.IntN(n)
		},
		Zipf: st.zipf,
		Gauss: func(mean, sd float64) float64 {
			return mean + sd*st.rng.NormFloat64()
		},
		Seq: func(n int) int {
			if n <= 0 {
				st.fail(fmt.Errorf("seq(%d): n must be positive", n))
				return 0
			}
			return st.env.Iteration % n
		},
		Randstr: func(n int) string {
			if n < 0 || n > 1<<24 {
				st.fail(fmt.Errorf("randstr(%d): length out of range", n))
				return ""
			}
			const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[st.rng.IntN(len(alphabet))]
			}
			return string(b)
		},
		Now: func() int64 { return time.Now().UnixMilli() },
		Slice: func(n int) int {
			if n <= 0 {
				st.fail(fmt.Errorf("slice(%d): n must be positive", n))
				return 0
			}
			vus := max(st.vus, 1)
			size := max(n/vus, 1)
			base := ((vu - 1) * size) % n
			return base + (st.calls-1+size)%size
		},
	}
	return st
}

// zipf returns a value in [0, n) drawn from a Zipf distribution with exponent
// s (> 1), value 0 being the most frequent.
func (st *State) zipf(n int, s float64) int {
	if n <= 0 || !(s > 1) || math.IsInf(s, 0) {
		st.fail(fmt.Errorf("zipf(%d, %g): n must be positive and s greater than 1", n, s))
		return 0
	}
	k := zipfKey{n, s}
	z := st.zipfs[k]
	if z == nil {
		if st.zipfs == nil {
			st.zipfs = map[zipfKey]*rand.Zipf{}
		}
		z = rand.NewZipf(st.rng, s, 1, uint64(n-1))
		st.zipfs[k] = z
	}
	return int(z.Uint64())
}

func (st *State) fail(err error) {
	if st.err == nil {
		st.err = err
	}
}

// SetIteration sets the scenario iteration number seen as `iteration`; it
// is called once per iteration of this VU.
func (st *State) SetIteration(n int64) {
	st.env.Iteration = int(n)
	st.calls++
}

// SetVUs tells the state how many VUs the scenario has, for slice().
func (st *State) SetVUs(n int) { st.vus = n }

func (st *State) run(p *vm.Program) (any, error) {
	// A pointer: passing the struct by value would allocate every run.
	v, err := st.vm.Run(p, &st.env)
	if st.err != nil {
		err, st.err = st.err, nil
		return nil, err
	}
	return v, err
}

// argRule is what a generator requires of one argument; the same rules are
// checked at run time (see NewState), and here at validation when the
// argument is written as a number, so that zipf(100, 1.0) is refused with
// its position before anything runs.
type argRule struct {
	ok   func(float64) bool
	want string
}

var (
	positive = argRule{func(f float64) bool { return f >= 1 }, "must be at least 1"}
	genRules = map[string][]argRule{
		"uniform": {positive},
		"seq":     {positive},
		"slice":   {positive},
		// Go's Zipf generator needs s > 1 (and v >= 1, which runplan fixes at 1).
		"zipf":    {positive, {func(f float64) bool { return f > 1 && !math.IsInf(f, 0) }, "must be greater than 1 (Go's Zipf generator), e.g. 1.1"}},
		"randstr": {{func(f float64) bool { return f >= 0 && f <= 1<<24 }, "must be from 0 to 16777216"}},
	}
	argNames = map[string][]string{"uniform": {"n"}, "seq": {"n"}, "slice": {"n"}, "zipf": {"n", "s"}, "randstr": {"n"}}
)

// checkArgs checks the literal arguments of the generators in a template
// expression that compiles, and returns the byte offset in src of the first
// one out of range. It reads the parsed tree rather than the compiled one,
// whose constants have lost their positions.
func checkArgs(src string) (int, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return 0, nil // compiled already: cannot happen
	}
	v := &argChecker{src: src}
	ast.Walk(&tree.Node, v)
	return v.off, v.err
}

type argChecker struct {
	src string
	off int
	err error
}

func (v *argChecker) Visit(n *ast.Node) {
	call, ok := (*n).(*ast.CallNode)
	if !ok || v.err != nil {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	rules := genRules[id.Value]
	for i, a := range call.Arguments {
		f, lit := literal(a)
		if i >= len(rules) || !lit || rules[i].ok(f) {
			continue
		}
		loc := a.Location()
		v.off = runeOffset(v.src, loc.From)
		got := strconv.FormatFloat(f, 'g', -1, 64)
		if u, ok := a.(*ast.UnaryNode); ok {
			loc.To = u.Node.Location().To
		}
		if end := runeOffset(v.src, loc.To); end > v.off {
			got = v.src[v.off:end] // as written: 1.0, not 1
		}
		v.err = fmt.Errorf("%s: %s %s (got %s)", id.Value, argNames[id.Value][i], rules[i].want, got)
		return
	}
}

// literal returns the value of a numeric literal, or of a negated one.
func literal(n ast.Node) (float64, bool) {
	switch x := n.(type) {
	case *ast.IntegerNode:
		return float64(x.Value), true
	case *ast.FloatNode:
		return x.Value, true
	case *ast.UnaryNode:
		if f, ok := literal(x.Node); ok && x.Operator == "-" {
			return -f, true
		}
	}
	return 0, false
}

// runeOffset turns expr's rune index into a byte offset in src.
func runeOffset(src string, runes int) int {
	off := 0
	for i := 0; i < runes && off < len(src); i++ {
		_, size := utf8.DecodeRuneInString(src[off:])
		off += size
	}
	return off
}
