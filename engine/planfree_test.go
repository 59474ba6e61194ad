package engine

import (
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/plan"
)

// planPkg is the package whose types a Program must not hold.
var planPkg = reflect.TypeFor[plan.Plan]().PkgPath()

// planTypes lists the paths, from a value of type t, to every field,
// element or key whose type is from engine/plan. It walks through
// pointers, slices, arrays, maps, channels and the fields of every struct
// (generic ones such as atomic.Pointer[T] included), except the types in
// skip; it cannot see behind an interface or into a function's closure.
func planTypes(t reflect.Type, skip map[reflect.Type]bool) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		if t.PkgPath() == planPkg {
			out = append(out, path+" ("+t.String()+")")
			return
		}
		if seen[t] || skip[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
			walk(t.Elem(), path+"[]")
		case reflect.Map:
			walk(t.Key(), path+"{key}")
			walk(t.Elem(), path+"{}")
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		}
	}
	walk(t, t.String())
	return out
}

// A Program is plan-free (issue 12): nothing it holds, through engine's
// own types and those of the packages it builds on, is an engine/plan
// value, so that a prepared run no longer depends on the plan it came
// from. That includes the compiled checks (check.Program), which keep
// their own copy of what evaluation needs; the walk goes into their
// unexported fields as it does into atomic.Pointer's (TestPlanTypesFinds).
func TestProgramIsPlanFree(t *testing.T) {
	t.Parallel()
	for _, typ := range []reflect.Type{reflect.TypeFor[Program](), reflect.TypeFor[check.Program]()} {
		if found := planTypes(typ, nil); len(found) > 0 {
			t.Errorf("%v holds engine/plan types:\n%s", typ, strings.Join(found, "\n"))
		}
	}
}

// The walk finds a plan type however deep it is held: the guard above can
// fail.
func TestPlanTypesFinds(t *testing.T) {
	t.Parallel()
	type inner struct {
		v plan.Validity
	}
	type holder struct {
		n     int
		p     *plan.Plan
		deep  []map[string]*inner
		live  atomic.Pointer[plan.Scenario]
		clean []preparedStep
	}
	tests := []struct {
		name string
		t    reflect.Type
		want []string
	}{
		{"clean", reflect.TypeFor[preparedScenario](), nil},
		{"nested", reflect.TypeFor[holder](), []string{
			"engine.holder.p[] (plan.Plan)",
			"engine.holder.deep[]{}[].v (plan.Validity)",
			"engine.holder.live._[][] (plan.Scenario)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := planTypes(tt.t, nil)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("planTypes(%v) = %q, want %q", tt.t, got, tt.want)
			}
		})
	}
}
