package decode_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
)

type retries struct {
	Max     int           `yaml:"max" min:"0" max:"100"`
	Backoff time.Duration `yaml:"backoff" default:"250ms" decode:"positive"`
}

type server struct {
	Master  string            `yaml:"master" decode:"required" help:"the primary's name"`
	Addrs   []string          `yaml:"addrs" want:"a list of host:port addresses"`
	Mode    string            `yaml:"mode" oneof:"respect ignore" default:"respect"`
	Timeout time.Duration     `yaml:"timeout" min:"100ms"`
	Ratio   float64           `yaml:"ratio" min:"0" max:"1"`
	Pool    uint8             `yaml:"pool"`
	Small   int8              `yaml:"small" decode:"positive"`
	TLS     bool              `yaml:"tls"`
	Retries *retries          `yaml:"retries"`
	Inline  retries           `yaml:"inline"`
	Headers map[string]string `yaml:"headers"`
	Raw     *yaml.Node        `yaml:"raw"`
	Limit   limit             `yaml:"limit"`
	Driver  *yaml.Node        `yaml:"driver" decode:"unlisted"`
	Rate    rate              `yaml:"rate" want:"a mode or {mode, burst}"`
	derived int
}

// limit is a union: a word ("off") or a mapping {per: 1s}.
type limit struct {
	Off bool
	Per time.Duration `yaml:"per" decode:"positive"`
}

func (l *limit) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "off" {
			return c.Errorf(n, "%s: expected off or a mapping, got %s", c.Name(), decode.Describe(n))
		}
		l.Off = true
		return nil
	}
	type plain limit // without the method: decoded as a struct
	return c.Decode(n, (*plain)(l))
}

// rate is a union: a mode ("fast") standing for {mode: fast}, or the
// mapping; burst needs mode.
type rate struct {
	Mode  string `yaml:"mode" oneof:"fast slow"`
	Burst int    `yaml:"burst" min:"1" max:"9"`
}

func (r *rate) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain rate
	switch n.Kind {
	case yaml.ScalarNode:
		n = decode.Shorthand("mode", n)
	case yaml.SequenceNode:
		return c.Report(decode.Problem{Kind: decode.Type})
	}
	err := c.Decode(n, (*plain)(r))
	if k := c.Field("burst").Key; k != nil && r.Mode == "" {
		err = errors.Join(err, c.Errorf(k, "%s: burst needs a mode", c.Name()))
	}
	return err
}

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// messages lists the joined errors as "line:col: message".
func messages(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		out = append(out, e.Error())
	}
	walk(err)
	return out
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src string
		want      []string // every message, in order
		check     func(t *testing.T, s *server, f decode.Fields)
	}{
		{name: "values", src: "master: m\naddrs: [a:1, b:2]\nmode: ignore\ntimeout: 1s\nratio: 0.5\npool: 255\nsmall: 3\ntls: true\nretries: {max: 1_0}\nheaders: {A: x, B: 2}\nraw: [1, {a: b}]\nlimit: {per: 2s}",
			check: func(t *testing.T, s *server, f decode.Fields) {
				want := server{Master: "m", Addrs: []string{"a:1", "b:2"}, Mode: "ignore", Timeout: time.Second, Ratio: 0.5, Pool: 255, Small: 3, TLS: true,
					Retries: &retries{Max: 10, Backoff: 250 * time.Millisecond}, Inline: retries{Backoff: 250 * time.Millisecond},
					Headers: map[string]string{"A": "x", "B": "2"}, Limit: limit{Per: 2 * time.Second}, derived: 7}
				raw := s.Raw
				s.Raw = nil
				if !reflect.DeepEqual(*s, want) {
					t.Errorf("got %+v\nwant %+v", *s, want)
				}
				if raw == nil || raw.Kind != yaml.SequenceNode || raw.Line != 11 {
					t.Errorf("raw node %+v", raw)
				}
				if k := f.Key("retries.max"); k == nil || k.Line != 9 || k.Column != 11 {
					t.Errorf("retries.max key %+v", k)
				}
				if v := f.Value("headers.B"); v == nil || v.Value != "2" || v.Column != 20 {
					t.Errorf("headers.B value %+v", v)
				}
				if !f.Has("limit.per") || f.Has("timeout.x") || f.Has("ratioo") {
					t.Errorf("fields %v", f)
				}
			}},
		{name: "defaults when absent", src: "master: m",
			check: func(t *testing.T, s *server, _ decode.Fields) {
				if s.Mode != "respect" || s.Inline.Backoff != 250*time.Millisecond || s.Retries != nil || s.derived != 7 || s.Timeout != 0 {
					t.Errorf("got %+v", *s)
				}
			}},
		{name: "aliases", src: "x: &a {max: 3}\nmaster: &m mm\nretries: *a\naddrs: [*m]",
			want: []string{`1:1: t: unknown key "x" (expected one of: master, addrs, mode, timeout, ratio, pool, small, tls, retries, inline, headers, raw, limit, rate)`},
			check: func(t *testing.T, s *server, _ decode.Fields) {
				if s.Retries == nil || s.Retries.Max != 3 || s.Master != "mm" || !slices.Equal(s.Addrs, []string{"mm"}) {
					t.Errorf("got %+v", *s)
				}
			}},
		{name: "not a mapping", src: "[a]", want: []string{`1:1: t: target "x": expected a mapping, got a sequence`}},
		{name: "unknown key near", src: "master: m\nmdoe: x", want: []string{`2:1: t: unknown key "mdoe" (did you mean "mode"?)`}},
		{name: "unknown nested", src: "master: m\nretries: {mx: 1, backof: 1s}", want: []string{`2:11: t: unknown key "mx" (did you mean "max"?)`, `2:18: t: unknown key "backof" (did you mean "backoff"?)`}},
		{name: "unlisted accepted", src: "master: m\ndriver: x", check: func(t *testing.T, s *server, _ decode.Fields) {
			if s.Driver == nil || s.Driver.Value != "x" {
				t.Errorf("driver %+v", s.Driver)
			}
		}},
		{name: "unlisted not offered", src: "master: m\ndrivr: x", want: []string{`2:1: t: unknown key "drivr" (expected one of: master, addrs, mode, timeout, ratio, pool, small, tls, retries, inline, headers, raw, limit, rate)`}},
		{name: "duplicate", src: "master: m\nmaster: n", want: []string{`2:1: t: duplicate key "master"`}},
		{name: "key not string", src: "master: m\n[a]: 1", want: []string{`2:1: t: target "x": keys must be strings, got a sequence`}},
		{name: "missing", src: "tls: true", want: []string{`1:1: t: target "x": missing master (the primary's name)`}},
		{name: "string type", src: "master: [a]", want: []string{`1:9: t: master: expected a string, got a sequence`}},
		{name: "null string", src: "master:", want: []string{`1:8: t: master: expected a string, got nothing (null)`}},
		{name: "want tag", src: "master: m\naddrs: a", want: []string{`2:8: t: addrs: expected a list of host:port addresses, got the string "a"`}},
		{name: "item type", src: "master: m\naddrs: [a, {b: c}]", want: []string{`2:12: t: addrs[1]: expected a string, got a mapping`}},
		{name: "oneof", src: "master: m\nmode: ignroe", want: []string{`2:7: t: mode: expected one of respect, ignore, got "ignroe" (did you mean "ignore"?)`}},
		{name: "bool", src: "master: m\ntls: yes", want: []string{`2:6: t: tls: expected true or false, got the string "yes"`}},
		{name: "int type", src: "master: m\nretries: {max: many}", want: []string{`2:16: t: retries.max: expected an integer, got the string "many"`}},
		{name: "int float", src: "master: m\nretries: {max: 1.5}", want: []string{`2:16: t: retries.max: expected an integer, got the number 1.5`}},
		{name: "int range", src: "master: m\nretries: {max: 101}", want: []string{`2:16: t: retries.max must be between 0 and 100, got 101`}},
		{name: "int kind range", src: "master: m\npool: 256", want: []string{`2:7: t: pool must be between 0 and 255, got 256`}},
		{name: "int positive", src: "master: m\nsmall: 0", want: []string{`2:8: t: small must be positive, got 0`}},
		{name: "int huge", src: "master: m\nretries: {max: 99999999999999999999}", want: []string{`2:16: t: retries.max: expected an integer, got the number 99999999999999999999`}},
		{name: "float range", src: "master: m\nratio: 2", want: []string{`2:8: t: ratio must be between 0 and 1, got 2`}},
		{name: "float type", src: "master: m\nratio: half", want: []string{`2:8: t: ratio: expected a number, got the string "half"`}},
		{name: "duration bad", src: "master: m\ntimeout: soon", want: []string{`2:10: t: timeout: expected a duration such as 500ms or 5m, got "soon"`}},
		{name: "duration no unit", src: "master: m\ntimeout: 5", want: []string{`2:10: t: timeout: expected a duration such as 500ms or 5m, got "5"`}},
		{name: "duration mapping", src: "master: m\ntimeout: {}", want: []string{`2:10: t: timeout: expected a duration such as 500ms or 5m, got a mapping`}},
		{name: "duration negative", src: "master: m\ntimeout: -1s", want: []string{`2:10: t: timeout must not be negative, got -1s`}},
		{name: "duration min", src: "master: m\ntimeout: 10ms", want: []string{`2:10: t: timeout must be at least 100ms, got 10ms`}},
		{name: "duration positive", src: "master: m\nretries: {backoff: 0s}", want: []string{`2:20: t: retries.backoff must be positive, got 0s`}},
		{name: "pointer null", src: "master: m\nretries:", want: []string{`2:9: t: retries: expected a mapping, got nothing (null)`}},
		{name: "map value", src: "master: m\nheaders: {a: [1]}", want: []string{`2:14: t: headers.a: expected a string, got a sequence`}},
		{name: "map not mapping", src: "master: m\nheaders: [a]", want: []string{`2:10: t: headers: expected a mapping, got a sequence`}},
		{name: "unmarshaler word", src: "master: m\nlimit: on", want: []string{`2:8: t: limit: expected off or a mapping, got the string "on"`}},
		{name: "unmarshaler nested", src: "master: m\nlimit: {per: 0s, pre: 1s}", want: []string{`2:14: t: limit.per must be positive, got 0s`, `2:18: t: unknown key "pre" (did you mean "per"?)`}},
		{name: "shorthand", src: "master: m\nrate: slow", check: func(t *testing.T, s *server, f decode.Fields) {
			if s.Rate.Mode != "slow" || f.Value("rate.mode") == nil || f.Value("rate.mode").Line != 2 {
				t.Errorf("rate %+v, fields %v", s.Rate, f)
			}
		}},
		{name: "shorthand named", src: "master: m\nrate: slw", want: []string{`2:7: t: rate.mode: expected one of fast, slow, got "slw" (did you mean "slow"?)`}},
		{name: "union mapping", src: "master: m\nrate: {mode: fast, burst: 3}", check: func(t *testing.T, s *server, _ decode.Fields) {
			if s.Rate != (rate{Mode: "fast", Burst: 3}) {
				t.Errorf("rate %+v", s.Rate)
			}
		}},
		{name: "union cross-field", src: "master: m\nrate: {burst: 10}", want: []string{`2:15: t: rate.burst must be between 1 and 9, got 10`, `2:8: t: rate: burst needs a mode`}},
		{name: "union report", src: "master: m\nrate: [fast]", want: []string{`2:7: t: rate: expected a mode or {mode, burst}, got a sequence`}},
		{name: "all problems", src: "mode: x\ntls: 1\nretries: {max: -1}\nmdoe: y",
			want: []string{`1:7: t: mode: expected one of respect, ignore, got "x"`, `2:6: t: tls: expected true or false, got the number 1`,
				`3:16: t: retries.max must be between 0 and 100, got -1`, `4:1: t: unknown key "mdoe" (did you mean "mode"?)`, `1:1: t: target "x": missing master (the primary's name)`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &server{derived: 7}
			f, err := decode.Decode(parse(t, tt.src), s, decode.Options{Prefix: "t: ", Root: `target "x"`})
			if got := messages(err); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err != nil {
				// Every joined error is placed.
				for _, d := range diag.FromError("p.yaml", diag.Pos{}, err) {
					if d.Line == 0 {
						t.Errorf("unplaced %v", d)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, s, f)
			}
		})
	}
}

func TestDecodeNullRoot(t *testing.T) {
	t.Parallel()
	s := &server{}
	f, err := decode.Decode(nil, s, decode.Options{})
	if err != nil || s.Mode != "respect" || s.Inline.Backoff != 250*time.Millisecond || len(f) != 1 {
		t.Errorf("decode(nil): %+v, %v, %v", s, f, err)
	}
	_, err = decode.Decode(parse(t, "~"), s, decode.Options{Root: "target"})
	if want := []string{"1:1: target: expected a mapping, got nothing (null)"}; !slices.Equal(messages(err), want) {
		t.Errorf("decode(null): %v, want %q", err, want)
	}
}

func TestDecodeMessage(t *testing.T) {
	t.Parallel()
	o := decode.Options{Prefix: "w: ", Message: func(p decode.Problem) string {
		switch p.Kind {
		case decode.UnknownKey:
			return fmt.Sprintf("%sunknown key %q in %s; known %d", p.Prefix, p.Key, strings.Join(p.Path, " "), len(p.Known))
		case decode.OutOfRange:
			return fmt.Sprintf("%s%s must be from %s to %s", p.Prefix, strings.Join(p.Path, " "), p.Min, p.Max)
		}
		return p.String()
	}}
	_, err := decode.Decode(parse(t, "master: m\nretries: {max: 200, x: 1}\ntls: 2"), &server{}, o)
	want := []string{`2:16: w: retries max must be from 0 to 100`, `2:21: w: unknown key "x" in retries; known 2`, `3:6: w: tls: expected true or false, got the number 2`}
	if got := messages(err); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	var de *diag.Error
	if !errors.As(err, &de) || de.Line != 2 || de.Col != 16 {
		t.Errorf("first error %v not a *diag.Error at 2:16", err)
	}
}

// A document nested deeper than MaxDepth is refused, not a stack overflow.
func TestDecodeDepth(t *testing.T) {
	t.Parallel()
	type nest map[string]nest
	src := strings.Repeat("{a: ", decode.MaxDepth+2) + "{}" + strings.Repeat("}", decode.MaxDepth+2)
	var v nest
	_, err := decode.Decode(parse(t, src), &v, decode.Options{Prefix: "t: "})
	if err == nil || !strings.Contains(err.Error(), "nested more than 64 levels deep") {
		t.Errorf("got %v", err)
	}
}

func TestDecodePanics(t *testing.T) {
	t.Parallel()
	type hidden struct {
		x int `yaml:"x"`
	}
	type badDefault struct {
		X int `yaml:"x" default:"many"`
	}
	type anyField struct {
		X any `yaml:"x"`
	}
	for name, v := range map[string]any{"not a pointer": hidden{}, "unexported": &hidden{}, "bad default": &badDefault{}, "any": &anyField{}} {
		src := "x: 1"
		if name == "bad default" {
			src = "{}"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			_, _ = decode.Decode(parse(t, src), v, decode.Options{})
		})
	}
}
