package tmpl

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

var testSources = []DataSource{
	{Name: "signals", Columns: []string{"symbol", "side", "price"}, Where: "data/signals.csv:1:1"},
	{Name: "users", Columns: []string{"id", "first name"}, Where: "users.json:2:3"},
	{Name: "broken", Unknown: true},
}

// Templates read data.NAME.COLUMN of the known sources and columns only;
// every other use of data is refused at the offset of the name at fault.
func TestDataCompile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		off  int
		err  string
		used []string
	}{
		{src: "{{ data.signals.symbol }}:{{ data.signals.price }}", used: []string{"signals"}},
		{src: `{{ data.users["first name"] }} {{ data.signals.side == "BUY" ? 1 : 2 }}`, used: []string{"signals", "users"}},
		{src: "{{ data.broken.anything }}", used: []string{"broken"}},
		{src: "{{ 1 + 2 }} data", used: nil},
		{src: "{{ data.signal.price }}", off: 8, err: `unknown data source "signal" (did you mean "signals"?)`},
		{src: "x{{ data.orders.id }}", off: 9, err: `unknown data source "orders" (data sources: signals, users, broken)`},
		{src: "{{ data.signals.prize }}", off: 16, err: `data source signals has no column "prize" (did you mean "price"?) (its columns at data/signals.csv:1:1: symbol, side, price)`},
		{src: "{{ data.signals.qty }}", off: 16, err: `data source signals has no column "qty" (its columns at data/signals.csv:1:1: symbol, side, price)`},
		{src: "{{ data.signals }}", off: 3, err: "data must be read by source and column: data.NAME.COLUMN"},
		{src: "{{ len(data) }}", off: 7, err: "data must be read by source and column: data.NAME.COLUMN"},
		{src: "{{ data.signals[vars.x] }}", off: 21, err: "data must be read by source and column: data.NAME.COLUMN"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			use := &DataUse{}
			_, err := NewCompiler("x").WithData(testSources, use).Compile(tt.src)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := use.Names(); !slices.Equal(got, tt.used) {
					t.Errorf("used %q, want %q", got, tt.used)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) || te.Offset != tt.off || err.Error() != tt.err {
				t.Fatalf("err %v (at %d), want %q at %d", err, te.Offset, tt.err, tt.off)
			}
		})
	}
	// Without sources, the plan is told to declare them (a nil compiler
	// is a zero one).
	for _, c := range []*Compiler{NewCompiler(), nil} {
		_, err := c.Compile("{{ data.signals.price }}")
		if err == nil || err.Error() != `unknown data source "signals": the plan declares no data sources (add them under data:)` {
			t.Errorf("err %v", err)
		}
	}
}

// Vars read data too, and the rows bound to a state are what templates
// see, values with their types.
func TestDataInVars(t *testing.T) {
	t.Parallel()
	use := &DataUse{}
	vars, errs := NewCompiler().WithData(testSources, use).CompileVars([]VarDef{
		{Name: "key", Src: "sig:{{ data.signals.symbol }}"},
		{Name: "id", Src: "{{ data.users.id + 1 }}"},
	})
	if errs != nil {
		t.Fatal(errs)
	}
	if got := use.Names(); !slices.Equal(got, []string{"signals", "users"}) {
		t.Errorf("used %q", got)
	}
	st := NewState("s", 1, rand.New(rand.NewPCG(1, 1)))
	sig, users := map[string]any{}, map[string]any{}
	st.SetData("signals", sig)
	st.SetData("users", users)
	for i, sym := range []string{"BTC", "ETH"} {
		sig["symbol"], users["id"] = sym, 10*i
		st.SetIteration(int64(i))
		if err := vars.Eval(st); err != nil {
			t.Fatal(err)
		}
		key, _ := st.Var("key")
		id, _ := st.Var("id")
		if key != "sig:"+sym || id != 10*i+1 {
			t.Errorf("iteration %d: key %v id %v (%T)", i, key, id, id)
		}
	}
}
