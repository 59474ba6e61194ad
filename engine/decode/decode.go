// Package decode is the one strict decoder from a plan's YAML into a driver's
// typed configuration: it turns a *yaml.Node into a Go value by reflection,
// reporting every problem at its position, so that no driver walks YAML by
// hand.
//
// # What is decoded
//
// The target of Decode is a pointer. Supported types:
//
//   - structs, from mappings: a field is decoded when it has a `yaml:"name"`
//     tag (name "-" or no tag: the field is left alone, so a struct may hold
//     derived values beside its options). A key of the mapping that names no
//     field is an error at the key, with a "did you mean" from diag.Suggest.
//     A field whose key is absent keeps the value it had, so defaults may be
//     set before calling Decode, or given with a `default:"..."` tag (a YAML
//     scalar, decoded like the value it stands for).
//   - string (any non-null scalar), bool (true or false), the integer kinds
//     (!!int scalars, as YAML writes them: 10, 1_000, 0x10), float32 and
//     float64 (!!int or !!float scalars).
//   - time.Duration, from Go duration strings such as "500ms" or "5m", or 0.
//     A negative duration is always refused.
//   - pointers (allocated when absent), slices (from sequences) and maps
//     with string keys (from mappings).
//   - *yaml.Node: the value node as written (aliases followed), unchecked,
//     for the caller to read; it is nil when the key is absent.
//   - any type whose pointer implements Unmarshaler, which decodes itself:
//     unions (a scalar or a mapping), lists with their own rules, words.
//
// Field tags beside `yaml` (all optional):
//
//   - `default:"10s"`: the value taken when the key is absent.
//   - `decode:"required"`: the key must be present; `decode:"positive"`: a
//     duration or number must be above zero; `decode:"unlisted"`: the key
//     is accepted but not offered in messages about unknown keys (a key
//     someone else reads, such as a target's driver). Options are comma
//     separated.
//   - `min:"1"`, `max:"100"`: bounds of a number or duration (inclusive).
//   - `oneof:"a b c"`: the words a string may be.
//   - `want:"a mapping with addrs"`: how messages name what was expected.
//   - `help:"the name the sentinels know the primary by"`: added to the
//     message when a required key is missing.
//
// # Problems
//
// Every problem is an error placed at its node with diag.Errorf; Decode
// gathers all of them and returns them joined (errors.Join), never only the
// first. A problem is described by a Problem value, worded by
// Options.Message when set (a driver keeping its own wording) or by
// Problem.String otherwise: messages start with Options.Prefix ("redis: "),
// name the value by its dotted path below the decoded one ("retries.max"),
// and say what was expected and what was given ("expected an integer, got
// the string \"x\"").
//
// # Positions for cross-field checks
//
// Decode returns Fields: the key and value nodes of everything decoded, by
// path, so that a caller's own checks ("url and sentinel exclude each
// other") can be placed at the right line and column.
//
// # Bounds
//
// Aliases are followed (an anchor behaves like what it names). The plan
// loader refuses alias bombs before drivers see the nodes; Decode itself
// stops at MaxDepth nested values, so a cyclic or absurdly deep document is
// an error, not a stack overflow.
//
// Decode is safe for concurrent use. It panics when the target type is one it
// cannot decode (a programming error, found by any test that decodes).
package decode

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
)

// MaxDepth is how deeply values may nest below the decoded one.
const MaxDepth = 64

// Options shape the messages of one Decode call.
type Options struct {
	// Prefix starts every message, naming the reporter: "redis: ".
	Prefix string
	// Root names the decoded value itself in messages about it, where a
	// nested value is named by its path: `target "cache"`.
	Root string
	// Message words a problem; nil: Problem.String. A driver that keeps
	// its own wording returns p.String() for the problems it leaves alone.
	Message func(p Problem) string
}

// Kind is the kind of a Problem.
type Kind int

// Kinds of problems.
const (
	// Type: the value is not of the expected shape (Want says which).
	Type Kind = iota + 1
	// UnknownKey: Key is no field of the mapping (Known lists them,
	// Suggestion is the nearest or "").
	UnknownKey
	// DuplicateKey: Key appears twice (First is the first key node).
	DuplicateKey
	// KeyNotString: a mapping key is not a scalar.
	KeyNotString
	// Missing: the required Key is absent (Help explains it).
	Missing
	// BadDuration: the string does not parse as a duration.
	BadDuration
	// Negative: a duration below zero.
	Negative
	// NotPositive: zero where a positive value is required.
	NotPositive
	// OutOfRange: a number or duration outside Min..Max.
	OutOfRange
	// NotOneOf: a word that is none of Known (Suggestion is the nearest).
	NotOneOf
	// TooDeep: more than MaxDepth nested values.
	TooDeep
)

// Problem is one problem found while decoding, before it is worded.
type Problem struct {
	Kind Kind
	// Node is where the problem is reported: the value, or the key for
	// key problems, or the mapping for missing keys.
	Node *yaml.Node
	// Path names the value below the decoded one, one element a key or
	// "[i]"; for key problems it is the mapping's path.
	Path []string
	// Key is the key of an UnknownKey, DuplicateKey or Missing problem.
	Key string
	// Want says what was expected: "an integer", "a mapping with addrs".
	Want string
	// Type is the Go type of the value expected (nil for key problems and
	// for an Unmarshaler's own problems).
	Type reflect.Type
	// Known lists the accepted keys or words; Suggestion is the nearest
	// to what was given, or "".
	Known      []string
	Suggestion string
	// Min and Max are the bounds of an OutOfRange problem, "" when open;
	// a Type problem of an integer carries them too.
	Min, Max string
	// First is the first key node of a DuplicateKey.
	First *yaml.Node
	// Help explains a missing key.
	Help string
	// Prefix and Root are the Options' ones, for the wording.
	Prefix, Root string
}

// Name is the dotted path of the problem's value ("retries.max"), or Root
// for the decoded value itself.
func (p Problem) Name() string {
	if len(p.Path) == 0 {
		return p.Root
	}
	return JoinPath(p.Path)
}

// Value is the scalar text given, as the message quotes it.
func (p Problem) Value() string {
	if p.Node == nil {
		return ""
	}
	return p.Node.Value
}

// String words the problem in the default style, e.g.
// `redis: retries.max must be between 0 and 100, got 101`.
func (p Problem) String() string {
	name := p.Name()
	at := p.Prefix
	if name != "" {
		at += name + ": "
	}
	switch p.Kind {
	case Type:
		return fmt.Sprintf("%sexpected %s, got %s", at, p.Want, Describe(p.Node))
	case UnknownKey:
		if p.Suggestion != "" {
			return fmt.Sprintf("%sunknown key %q (did you mean %q?)", p.Prefix, p.Key, p.Suggestion)
		}
		return fmt.Sprintf("%sunknown key %q (expected one of: %s)", p.Prefix, p.Key, strings.Join(p.Known, ", "))
	case DuplicateKey:
		return fmt.Sprintf("%sduplicate key %q", p.Prefix, p.Key)
	case KeyNotString:
		return fmt.Sprintf("%skeys must be strings, got %s", at, Describe(p.Node))
	case Missing:
		msg := fmt.Sprintf("%smissing %s", at, p.Key)
		if p.Help != "" {
			msg += " (" + p.Help + ")"
		}
		return msg
	case BadDuration:
		return fmt.Sprintf("%sexpected %s, got %q", at, p.Want, p.Value())
	case Negative:
		return fmt.Sprintf("%s%s must not be negative, got %s", p.Prefix, name, p.Value())
	case NotPositive:
		return fmt.Sprintf("%s%s must be positive, got %s", p.Prefix, name, p.Value())
	case OutOfRange:
		switch {
		case p.Min != "" && p.Max != "":
			return fmt.Sprintf("%s%s must be between %s and %s, got %s", p.Prefix, name, p.Min, p.Max, p.Value())
		case p.Min != "":
			return fmt.Sprintf("%s%s must be at least %s, got %s", p.Prefix, name, p.Min, p.Value())
		}
		return fmt.Sprintf("%s%s must be at most %s, got %s", p.Prefix, name, p.Max, p.Value())
	case NotOneOf:
		msg := fmt.Sprintf("%sexpected one of %s, got %q", at, strings.Join(p.Known, ", "), p.Value())
		if p.Suggestion != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", p.Suggestion)
		}
		return msg
	case TooDeep:
		return fmt.Sprintf("%snested more than %d levels deep", at, MaxDepth)
	}
	return at + "invalid value"
}

// JoinPath joins a path as messages print it: keys by dots, indexes
// attached ("addrs[1]").
func JoinPath(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Describe names the shape of a node for messages: "a mapping", "the number
// 5", "the string \"x\"", "nothing (null)".
func Describe(n *yaml.Node) string {
	n = Value(n)
	switch {
	case IsNull(n):
		return "nothing (null)"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a sequence"
	case n.Kind == yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "an unexpected node"
}

// Value skips document and alias wrappers; it returns nil for nil.
func Value(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && depth <= MaxDepth; depth++ {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		case n.Kind == yaml.AliasNode && n.Alias != nil:
			n = n.Alias
		default:
			return n
		}
	}
	return n
}

// IsNull reports whether n is absent or an explicit or implicit YAML null.
func IsNull(n *yaml.Node) bool {
	n = Value(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// Field is the key and value node of one decoded entry.
type Field struct{ Key, Value *yaml.Node }

// Fields maps the dotted path (JoinPath) of every mapping entry decoded to
// its nodes; "" is the decoded value itself (no key). Keys are joined as
// written, so a key holding a dot (a header name) is found by its text:
// "headers.X.Y". It is the caller's, to read once Decode returns.
type Fields map[string]Field

// Has reports whether the entry at path was given.
func (f Fields) Has(path string) bool { _, ok := f[path]; return ok }

// Key returns the key node of the entry at path, nil when absent.
func (f Fields) Key(path string) *yaml.Node { return f[path].Key }

// Value returns the value node of the entry at path, nil when absent.
func (f Fields) Value(path string) *yaml.Node { return f[path].Value }

// Unmarshaler is a type that decodes itself from a node (aliases followed;
// never nil, but possibly a null scalar when the key is given without a
// value). Its errors are gathered with the rest; it makes them with c.Errorf
// or c.Report so that they carry the position and the prefix.
type Unmarshaler interface {
	UnmarshalNode(c *Context, n *yaml.Node) error
}

// Context is the state of a decoding handed to an Unmarshaler: where the
// value is, and how to word and place problems. It is valid only during the
// UnmarshalNode call.
type Context struct {
	d     *decoder
	node  *yaml.Node
	path  []string
	depth int
	field fieldInfo
}

// Path is the path of the value being decoded.
func (c *Context) Path() []string { return slices.Clip(c.path) }

// Name is the dotted path of the value being decoded, or Options.Root.
func (c *Context) Name() string {
	if len(c.path) == 0 {
		return c.d.opts.Root
	}
	return JoinPath(c.path)
}

// Prefix is Options.Prefix.
func (c *Context) Prefix() string { return c.d.opts.Prefix }

// Errorf returns an error at node n whose message is Options.Prefix followed
// by the formatted text.
func (c *Context) Errorf(n *yaml.Node, format string, args ...any) error {
	return diag.Errorf(n, "%s%w", c.d.opts.Prefix, fmt.Errorf(format, args...))
}

// Report returns problem p as an error, worded by the Options; an empty
// Path, Want or Node is taken from the value being decoded.
func (c *Context) Report(p Problem) error {
	if p.Path == nil {
		p.Path = c.Path()
	}
	if p.Want == "" {
		p.Want = c.field.want
	}
	if p.Node == nil {
		p.Node = c.node
	}
	return c.d.problem(p)
}

// Decode decodes n into v (a pointer) at the path being decoded, with the
// same options and the tags of the field being decoded (its bounds, words
// and want apply to a scalar decoded so), adding what it decodes to the
// Fields. To decode the mapping form of a union, convert the receiver to a
// type without the UnmarshalNode method.
func (c *Context) Decode(n *yaml.Node, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("decode: Decode needs a non-nil pointer, not %T", v))
	}
	var errs []error
	c.d.value(Value(n), rv.Elem(), c.path, c.depth+1, c.field, &errs)
	return errors.Join(errs...)
}

// Field returns the nodes of entry key of the mapping being decoded, once
// Decode has decoded it (zero when absent).
func (c *Context) Field(key string) Field {
	return c.d.fields[JoinPath(append(slices.Clip(c.path), key))]
}

// Shorthand returns the mapping {key: n}, placed where n is: a union whose
// scalar form stands for one key of its mapping form decodes that through
// Context.Decode, so that messages name the key (rate_limit.mode).
func Shorthand(key string, n *yaml.Node) *yaml.Node {
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: n.Line, Column: n.Column}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column, Content: []*yaml.Node{k, n}}
	if f := diag.FileOf(n); f != "" { // n is in an included fragment: so are they
		diag.SetFile(k, f)
		diag.SetFile(m, f)
	}
	return m
}

// Decode decodes node n into v, which must be a non-nil pointer. It returns
// the nodes of what it decoded and every problem, joined. A nil n decodes
// nothing (v keeps its values, defaults are applied to a struct); a null one
// is decoded like any value (a struct then wants a mapping).
func Decode(n *yaml.Node, v any, o Options) (Fields, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("decode: Decode needs a non-nil pointer, not %T", v))
	}
	d := &decoder{opts: o, fields: Fields{}}
	n = Value(n)
	var errs []error
	d.fields[""] = Field{Value: n}
	if n == nil {
		if s := indirect(rv.Elem()); s.Kind() == reflect.Struct && !isSelfDecoding(s) {
			d.defaults(s, nil, &errs)
		}
		return d.fields, errors.Join(errs...)
	}
	d.value(n, rv.Elem(), nil, 0, fieldInfo{}, &errs)
	return d.fields, errors.Join(errs...)
}

type decoder struct {
	opts   Options
	fields Fields
}

// fieldInfo is what a struct field's tags say.
type fieldInfo struct {
	name, def, want, help string
	required, positive    bool
	unlisted              bool
	min, max              string
	oneof                 []string
	index                 int
}

var (
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
	nodeType        = reflect.TypeFor[*yaml.Node]()
)

func (d *decoder) problem(p Problem) error {
	p.Prefix, p.Root = d.opts.Prefix, d.opts.Root
	msg := ""
	if d.opts.Message != nil {
		msg = d.opts.Message(p)
	} else {
		msg = p.String()
	}
	return diag.Errorf(p.Node, "%s", msg)
}

func (d *decoder) report(errs *[]error, p Problem) {
	*errs = append(*errs, d.problem(p))
}

func isSelfDecoding(v reflect.Value) bool {
	return v.CanAddr() && v.Addr().Type().Implements(unmarshalerType)
}

// indirect returns the value a chain of pointers ends at, allocating nil
// pointers.
func indirect(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer && v.Type() != nodeType {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return v
}

// value decodes n (not nil, aliases followed) into v.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path []string, depth int, fi fieldInfo, errs *[]error) {
	if depth > MaxDepth {
		d.report(errs, Problem{Kind: TooDeep, Node: n, Path: path})
		return
	}
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(n))
		return
	}
	if v.Kind() != reflect.Pointer && isSelfDecoding(v) {
		c := &Context{d: d, node: n, path: path, depth: depth, field: fi}
		if err := v.Addr().Interface().(Unmarshaler).UnmarshalNode(c, n); err != nil {
			*errs = append(*errs, err)
		}
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path, depth+1, fi, errs)
		return
	}
	want := func(w string) string {
		if fi.want != "" {
			return fi.want
		}
		return w
	}
	if v.Type() == durationType {
		d.duration(n, v, path, fi, want("a duration such as 500ms or 5m"), errs)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path, depth, want("a mapping"), errs)
	case reflect.Map:
		d.mapping(n, v, path, depth, want("a mapping"), errs)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.report(errs, Problem{Kind: Type, Node: n, Path: path, Want: want("a sequence"), Type: v.Type()})
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, it := range n.Content {
			d.value(Value(it), s.Index(i), append(slices.Clip(path), "["+strconv.Itoa(i)+"]"), depth+1, fieldInfo{}, errs)
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || IsNull(n) {
			d.report(errs, Problem{Kind: Type, Node: n, Path: path, Want: want("a string"), Type: v.Type()})
			return
		}
		if len(fi.oneof) > 0 && !slices.Contains(fi.oneof, n.Value) {
			d.report(errs, Problem{Kind: NotOneOf, Node: n, Path: path, Type: v.Type(), Known: fi.oneof, Suggestion: diag.Suggest(n.Value, fi.oneof)})
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.report(errs, Problem{Kind: Type, Node: n, Path: path, Want: want("true or false"), Type: v.Type()})
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.integer(n, v, path, fi, want("an integer"), errs)
	case reflect.Float32, reflect.Float64:
		d.float(n, v, path, fi, want("a number"), errs)
	default:
		panic(fmt.Sprintf("decode: cannot decode into %s", v.Type()))
	}
}

func (d *decoder) integer(n *yaml.Node, v reflect.Value, path []string, fi fieldInfo, want string, errs *[]error) {
	var lo int64
	var hi uint64
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		lo, hi = 0, uint64(1)<<v.Type().Bits()-1 // wraps to MaxUint64 for 64 bits
	default:
		lo, hi = -1<<(v.Type().Bits()-1), uint64(1)<<(v.Type().Bits()-1)-1
	}
	if fi.min != "" {
		lo = max(lo, mustInt(fi.min))
	}
	if fi.positive {
		lo = max(lo, 1)
	}
	if fi.max != "" {
		hi = min(hi, uint64(max(mustInt(fi.max), 0)))
	}
	bounds := Problem{Node: n, Path: path, Type: v.Type(), Min: strconv.FormatInt(lo, 10), Max: strconv.FormatUint(hi, 10)}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		bounds.Kind, bounds.Want = Type, want
		d.report(errs, bounds)
		return
	}
	text := strings.ReplaceAll(n.Value, "_", "")
	i, err := strconv.ParseInt(text, 0, 64)
	inRange := err == nil && i >= lo && (i < 0 || uint64(i) <= hi)
	if errors.Is(err, strconv.ErrRange) && lo >= 0 {
		u, uerr := strconv.ParseUint(text, 0, 64)
		if inRange = uerr == nil && u <= hi; inRange {
			v.SetUint(u)
			return
		}
	}
	if !inRange {
		p := bounds
		p.Kind = OutOfRange
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			p.Kind, p.Want = Type, want
		} else if fi.positive && fi.min == "" {
			p.Kind = NotPositive
		}
		d.report(errs, p)
		return
	}
	if v.CanInt() {
		v.SetInt(i)
	} else {
		v.SetUint(uint64(i))
	}
}

func (d *decoder) float(n *yaml.Node, v reflect.Value, path []string, fi fieldInfo, want string, errs *[]error) {
	var f float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
		d.report(errs, Problem{Kind: Type, Node: n, Path: path, Want: want, Type: v.Type()})
		return
	}
	switch {
	case math.IsNaN(f) || (fi.min != "" && f < mustFloat(fi.min)) || (fi.max != "" && f > mustFloat(fi.max)):
		d.report(errs, Problem{Kind: OutOfRange, Node: n, Path: path, Type: v.Type(), Min: fi.min, Max: fi.max})
	case fi.positive && f <= 0:
		d.report(errs, Problem{Kind: NotPositive, Node: n, Path: path, Type: v.Type()})
	default:
		v.SetFloat(f)
	}
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path []string, fi fieldInfo, want string, errs *[]error) {
	p := Problem{Node: n, Path: path, Type: v.Type()}
	if n.Kind != yaml.ScalarNode || IsNull(n) {
		p.Kind, p.Want = Type, want
		d.report(errs, p)
		return
	}
	t, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		p.Kind, p.Want = BadDuration, want
	case t < 0:
		p.Kind = Negative
	case fi.positive && t == 0:
		p.Kind = NotPositive
	case (fi.min != "" && t < mustDuration(fi.min)) || (fi.max != "" && t > mustDuration(fi.max)):
		p.Kind, p.Min, p.Max = OutOfRange, fi.min, fi.max
	default:
		v.SetInt(int64(t))
		return
	}
	d.report(errs, p)
}

// pairs walks mapping n, reporting non-scalar and duplicate keys, and calls
// f for each other pair (value aliases followed).
func (d *decoder) pairs(n *yaml.Node, path []string, errs *[]error, f func(k, v *yaml.Node)) {
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := Value(n.Content[i]), Value(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.report(errs, Problem{Kind: KeyNotString, Node: k, Path: path})
			continue
		}
		if first := seen[k.Value]; first != nil {
			d.report(errs, Problem{Kind: DuplicateKey, Node: k, Path: path, Key: k.Value, First: first})
			continue
		}
		seen[k.Value] = k
		f(k, val)
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path []string, depth int, want string, errs *[]error) {
	if n.Kind != yaml.MappingNode {
		d.report(errs, Problem{Kind: Type, Node: n, Path: path, Want: want, Type: v.Type()})
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		panic(fmt.Sprintf("decode: cannot decode into %s: keys must be strings", v.Type()))
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	d.pairs(n, path, errs, func(k, val *yaml.Node) {
		p := append(slices.Clip(path), k.Value)
		d.fields[JoinPath(p)] = Field{Key: k, Value: val}
		e := reflect.New(v.Type().Elem()).Elem()
		before := len(*errs)
		d.value(val, e, p, depth+1, fieldInfo{}, errs)
		if len(*errs) == before {
			v.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
	})
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path []string, depth int, want string, errs *[]error) {
	if n.Kind != yaml.MappingNode {
		d.report(errs, Problem{Kind: Type, Node: n, Path: path, Want: want, Type: v.Type()})
		return
	}
	infos := fieldsOf(v.Type())
	var known []string
	for _, fi := range infos {
		if !fi.unlisted {
			known = append(known, fi.name)
		}
	}
	given := make(map[string]bool, len(infos))
	d.pairs(n, path, errs, func(k, val *yaml.Node) {
		i := slices.IndexFunc(infos, func(fi fieldInfo) bool { return fi.name == k.Value })
		if i < 0 {
			d.report(errs, Problem{Kind: UnknownKey, Node: k, Path: path, Key: k.Value, Known: known, Suggestion: diag.Suggest(k.Value, known)})
			return
		}
		given[k.Value] = true
		p := append(slices.Clip(path), k.Value)
		d.fields[JoinPath(p)] = Field{Key: k, Value: val}
		d.value(val, v.Field(infos[i].index), p, depth+1, infos[i], errs)
	})
	for _, fi := range infos {
		if given[fi.name] {
			continue
		}
		if fi.required {
			d.report(errs, Problem{Kind: Missing, Node: n, Path: path, Key: fi.name, Help: fi.help})
		}
	}
	d.defaults(v, given, errs)
}

// defaults sets the fields of struct v with a default tag that are not
// given.
func (d *decoder) defaults(v reflect.Value, given map[string]bool, errs *[]error) {
	for _, fi := range fieldsOf(v.Type()) {
		if given[fi.name] {
			continue
		}
		if f := v.Field(fi.index); fi.def == "" && f.Kind() == reflect.Struct && !isSelfDecoding(f) {
			d.defaults(f, nil, errs)
		}
		if fi.def == "" {
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(fi.def), &doc); err != nil {
			panic(fmt.Sprintf("decode: %s.%s: bad default %q: %v", v.Type(), fi.name, fi.def, err))
		}
		var derrs []error
		d.value(Value(&doc), v.Field(fi.index), []string{fi.name}, 0, fi, &derrs)
		if len(derrs) > 0 {
			panic(fmt.Sprintf("decode: %s.%s: bad default %q: %v", v.Type(), fi.name, fi.def, errors.Join(derrs...)))
		}
	}
}

// fieldsOf reads the tags of struct type t.
func fieldsOf(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !f.IsExported() {
			panic(fmt.Sprintf("decode: %s.%s has a yaml tag but is not exported", t, f.Name))
		}
		fi := fieldInfo{name: name, index: i, def: f.Tag.Get("default"), want: f.Tag.Get("want"), help: f.Tag.Get("help"),
			min: f.Tag.Get("min"), max: f.Tag.Get("max"), oneof: strings.Fields(f.Tag.Get("oneof"))}
		for _, o := range strings.Split(f.Tag.Get("decode"), ",") {
			switch strings.TrimSpace(o) {
			case "":
			case "required":
				fi.required = true
			case "positive":
				fi.positive = true
			case "unlisted":
				fi.unlisted = true
			default:
				panic(fmt.Sprintf("decode: %s.%s: unknown decode option %q", t, f.Name, o))
			}
		}
		out = append(out, fi)
	}
	return out
}

func mustInt(s string) int64 {
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("decode: bound %q is not an integer", s))
	}
	return i
}

func mustFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(fmt.Sprintf("decode: bound %q is not a number", s))
	}
	return f
}

func mustDuration(s string) time.Duration {
	t, err := time.ParseDuration(s)
	if err != nil {
		panic(fmt.Sprintf("decode: bound %q is not a duration", s))
	}
	return t
}
