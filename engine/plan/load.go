package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/schema"
)

// Options tune loading.
type Options struct {
	// Env looks up ${NAME} references; nil means os.LookupEnv.
	Env LookupEnv
	// Sets are --set overrides, "path=value", applied after interpolation.
	Sets []string
	// Secrets, when set, is given every value that ${VAR} interpolation
	// brings in and the credentials of every URL in the plan, so that the
	// outputs that pass through it never print them (see interpolate.go).
	Secrets *redact.Redactor
	// MaxSize is the largest plan in bytes (--max-plan-size); 0 means
	// DefaultMaxSize. It also sets the node limit (see MaxNodes).
	MaxSize int64
	// StepKinds are the kinds of step the plan may use besides sleep: the
	// names of the registered drivers (driver.Drivers()), in the order
	// messages list them. The caller fills it from the registry; this
	// package knows no driver.
	StepKinds []string
	// Schema is the plan schema the plan is validated against: the core's
	// and the registered drivers' fragments, assembled (schema.Assemble).
	// The caller builds it from the registry, as it fills StepKinds; nil
	// means schema.Core(), under which targets, steps and faults accept any
	// driver's options.
	Schema *schema.PlanSchema
}

// Load reads, interpolates, overrides and validates the plan file at path.
// On problems it returns a diag.Diagnostics error listing all of them.
func Load(path string, opts Options) (*Plan, error) {
	data, diags := readPlan(path, opts)
	if diags != nil {
		return nil, diags
	}
	return Parse(path, data, opts)
}

// Parse is Load for a plan already in memory; file names it in diagnostics.
func Parse(file string, data []byte, opts Options) (*Plan, error) {
	p, diags := ParseAll(file, data, opts)
	if len(diags.Errors()) > 0 {
		return nil, diags.Sorted()
	}
	return p, nil
}

// LoadAll is Load that keeps going: it returns the plan as far as it could
// be decoded together with every problem found, so that later stages
// (drivers, checks) can report theirs too. Parts with problems are marked
// Invalid and should be skipped by later stages. The plan is nil only when
// the file could not be read or parsed as YAML at all.
func LoadAll(path string, opts Options) (*Plan, diag.Diagnostics) {
	data, diags := readPlan(path, opts)
	if diags != nil {
		return nil, diags
	}
	return ParseAll(path, data, opts)
}

// ParseAll is LoadAll for a plan already in memory.
func ParseAll(file string, data []byte, opts Options) (*Plan, diag.Diagnostics) {
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	if int64(len(data)) > opts.maxSize() {
		return nil, diag.Diagnostics{tooLarge(file, int64(len(data)), opts.maxSize())}
	}
	l := &loader{file: file, env: opts.Env, secrets: opts.Secrets, maxSize: opts.maxSize(), stepKinds: opts.StepKinds, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{},
		mergedBy: map[*yaml.Node]*yaml.Node{}, schema: opts.Schema}
	p := l.load(data, opts.Sets)
	if p != nil {
		h := sha256.New()
		h.Write(data)
		// The fragments' names and bytes too: the digest changes when one
		// does. A plan without includes has the digest of its bytes.
		for _, f := range l.fragments {
			h.Write([]byte("\x00" + filepath.ToSlash(f.file) + "\x00"))
			h.Write(f.data)
		}
		p.Digest = hex.EncodeToString(h.Sum(nil))
	}
	return p, l.diags
}

type loader struct {
	file    string
	env     LookupEnv
	maxSize int64
	diags   diag.Diagnostics
	// secrets receives what interpolation brings in; nil: nobody listens.
	secrets *redact.Redactor
	// nodes maps a JSON pointer of the instance to its value node; keys maps
	// it to the key node of a mapping entry.
	nodes map[string]*yaml.Node
	keys  map[string]*yaml.Node
	// mergedBy maps a key that a merge key copied to that merge key (the
	// first), to say where an unknown key came in.
	mergedBy map[*yaml.Node]*yaml.Node
	// badPtrs are locations with schema errors, so that semantic checks do
	// not report the same problem twice.
	badPtrs []string
	// dropped are the schema errors left to the decoder, which says the
	// same in the plan's terms (decoderChecked); reported as they are
	// when the decoder finds nothing.
	dropped []*jsonschema.ValidationError
	// stepKinds are Options.StepKinds.
	stepKinds []string
	// nodesSeen counts the nodes of the files checked so far (checkBounds):
	// the plan and its fragments share one limit.
	nodesSeen int
	// fragments are the files the plan includes, in merge order.
	fragments []*fragment
	// schema is Options.Schema, or the core's once the plan is known to
	// be within its bounds (useSchema); doc is its document.
	schema *schema.PlanSchema
	doc    schemaDoc
}

// useSchema settles the schema: Options.Schema, else the core's (compiled
// on first use, so only for a plan worth validating).
func (l *loader) useSchema() bool {
	if l.schema == nil {
		s, err := schema.Core()
		if err != nil {
			l.diags = append(l.diags, diag.Diagnostic{File: l.file, Msg: err.Error()})
			return false
		}
		l.schema = s
	}
	l.doc = schemaDoc(l.schema.Doc())
	return true
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) load(data []byte, sets []string) *Plan {
	if !l.checkUTF8(l.file, data) {
		return nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.diags = append(l.diags, diag.Diagnostic{File: l.file, Line: 1, Col: 1, Msg: "the plan is empty: write at least version, targets and scenarios (see docs/PLAN-FORMAT.md)"})
			return nil
		}
		l.yamlError(l.file, err, data)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.add(&extra, "a plan file holds one YAML document; remove the second one (after ---)")
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		n := &doc
		if len(doc.Content) > 0 {
			n = doc.Content[0]
		}
		l.add(n, "a plan is a YAML mapping with version, targets and scenarios")
		return nil
	}
	if isFragment(doc.Content[0]) {
		l.diags = append(l.diags, diag.Diagnostic{File: l.file, Line: 1, Col: 1, Msg: "this file has no version and holds only what a fragment holds (" +
			strings.Join(fragmentKeys, ", ") + "): if it is a fragment, validate a plan that includes it (include: [FILE]); if it is a plan, add version: 1 (see docs/PLAN-FORMAT.md)"})
		return nil
	}
	// Nothing below may walk the tree through its aliases before this: an
	// alias bomb of a few hundred bytes expands to billions of nodes.
	if !l.checkBounds(&doc, l.maxSize) {
		return nil
	}
	if !l.useSchema() {
		return nil
	}
	root := doc.Content[0]
	l.prepareSource(root, data)
	// The fragments it includes, prepared the same way, merge into it:
	// what follows sees one plan.
	l.include(root)
	l.stripExtensions(root, l.doc.root())
	for _, s := range sets {
		l.applySet(root, s)
	}
	inst := l.toJSON(root, "")
	l.validateSchema(inst)
	p := &Plan{File: l.file, Root: root}
	for _, f := range l.fragments {
		p.Fragments = append(p.Fragments, f.file)
	}
	l.decode(p, root)
	l.reportDropped()
	return p
}

// yamlError reports a yaml.v3 error in file (the plan or a fragment).
func (l *loader) yamlError(file string, err error, data []byte) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			l.yamlLine(file, e, data)
		}
		return
	}
	l.yamlLine(file, err.Error(), data)
}

// yamlLine turns a yaml.v3 syntax error, which has a line but no column,
// into a diagnostic with advice for the usual mistakes.
func (l *loader) yamlLine(file, msg string, data []byte) {
	line, col := 1, 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	lines := strings.Split(string(data), "\n")
	// yaml.v3 reports some errors at the line before the offending one;
	// look at both for a tab.
	for _, ln := range []int{line, line + 1} {
		if ln-1 < len(lines) {
			if i := strings.IndexByte(lines[ln-1], '\t'); i >= 0 && strings.TrimSpace(lines[ln-1][:i]) == "" || i >= 0 && strings.Contains(msg, "cannot start any token") {
				line, col = ln, i+1
				msg += " (a tab: YAML is indented with spaces only)"
				break
			}
		}
	}
	switch {
	case strings.Contains(msg, "found unexpected end of stream"):
		msg += " (an unclosed quote or bracket?)"
	case strings.Contains(msg, "did not find expected ',' or '}'") || strings.Contains(msg, "did not find expected ',' or ']'"):
		msg += " (an unclosed { or [?)"
	}
	l.diags = append(l.diags, diag.Diagnostic{File: file, Line: line, Col: col, Msg: "YAML syntax: " + msg})
}

// recordBlockIndents notes the content column of every block scalar, which
// yaml.v3 does not give, from the source lines.
func (l *loader) recordBlockIndents(n *yaml.Node, lines [][]byte) {
	if n.Kind == yaml.ScalarNode && (n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle) {
		if n.Line < len(lines) { // the content starts on the next line
			src := lines[n.Line]
			setBlockIndent(n, len(src)-len(bytes.TrimLeft(src, " "))+1)
		}
	}
	for _, c := range n.Content {
		l.recordBlockIndents(c, lines)
	}
}

// add records a problem at node n.
func (l *loader) add(n *yaml.Node, msg string) {
	l.diags = append(l.diags, diag.New(l.file, diag.PosOf(n), msg))
}

func (l *loader) addf(n *yaml.Node, format string, args ...any) {
	l.add(n, fmt.Sprintf(format, args...))
}

func (l *loader) checkDuplicates(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			l.checkDuplicates(c)
		}
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, dup := seen[k.Value]; dup {
				l.addf(k, "duplicate key %q (first at line %d)", k.Value, first.Line)
			} else {
				seen[k.Value] = k
			}
			l.checkDuplicates(n.Content[i+1])
		}
	}
}

// toJSON converts a YAML node to JSON-compatible values for the schema
// validator, recording each location's nodes.
func (l *loader) toJSON(n *yaml.Node, ptr string) any {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	l.nodes[ptr] = n
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			cp := ptr + "/" + escapePtr(k.Value)
			l.keys[cp] = k
			m[k.Value] = l.toJSON(n.Content[i+1], cp)
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, c := range n.Content {
			a[i] = l.toJSON(c, ptr+"/"+strconv.Itoa(i))
		}
		return a
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil
}

// scalarValue resolves a scalar the way YAML 1.2's core schema does.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return i
		}
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	}
	return n.Value
}

func escapePtr(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// applySet applies one --set path=value override. The path must lead to
// the plan's own values: a key missing on the way is created only where the
// schema names it (--set readiness.ready=95 on a plan without readiness), or
// as the last key of a mapping whose keys are the author's (a header). A
// misspelt key, a scenario or target the plan does not have, an index past
// a list's end are refused, with the close path when there is one: a typo
// must not silently add a scenario that nothing runs.
func (l *loader) applySet(root *yaml.Node, set string) {
	path, value, ok := strings.Cut(set, "=")
	if !ok || path == "" {
		l.diags = append(l.diags, diag.Diagnostic{File: "--set", Msg: fmt.Sprintf("%q: use --set path=value, like --set scenarios.cache.load.duration=5s", set)})
		return
	}
	segs := strings.Split(path, ".")
	fail := func(format string, args ...any) {
		l.diags = append(l.diags, diag.Diagnostic{File: "--set", Msg: path + ": " + fmt.Sprintf(format, args...)})
	}
	n := root
	schemas := l.doc.root()
	for i, seg := range segs {
		last := i == len(segs)-1
		here := strings.Join(segs[:i+1], ".")
		switch n.Kind {
		case yaml.MappingNode:
			ks := l.doc.shapeOf(schemas, n)
			schemas = ks.child(seg)
			var next *yaml.Node
			var keys []string
			for j := 0; j+1 < len(n.Content); j += 2 {
				keys = append(keys, n.Content[j].Value)
				if n.Content[j].Value == seg {
					// Copy on write: the value may be shared with other
					// places through an anchor or a merge.
					next = cow(n.Content[j+1])
					n.Content[j+1] = next
				}
			}
			if next == nil {
				_, named := ks.known[seg]
				if !named && (ks.defined || !last || l.doc.namesParts(ks)) {
					cands := keys
					if ks.defined {
						for k := range ks.known {
							cands = append(cands, k)
						}
					}
					msg := fmt.Sprintf("the plan has no %s", here)
					if s := diag.Suggest(seg, cands); s != "" {
						alt := slices.Clone(segs)
						alt[i] = s
						msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(alt, "."))
					} else if len(keys) > 0 && len(keys) <= 12 {
						where := strings.Join(segs[:i], ".")
						if where == "" {
							where = "the plan"
						}
						msg += fmt.Sprintf(" (%s has %s)", where, strings.Join(keys, ", "))
					}
					fail("%s", msg)
					return
				}
				next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
				if last {
					next = &yaml.Node{Kind: yaml.ScalarNode, Line: n.Line, Column: n.Column} // placed at its mapping
				}
				nk := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg, Line: n.Line, Column: n.Column}
				if f := diag.FileOf(n); f != "" { // a mapping of a fragment
					diag.SetFile(nk, f)
					diag.SetFile(next, f)
				}
				n.Content = append(n.Content, nk, next)
			}
			n = next
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				items := fmt.Sprintf("%d items, from 0", len(n.Content))
				if len(n.Content) == 1 {
					items = "1 item, 0"
				}
				fail("%q is not an index of the list at %s (it has %s)", seg, strings.Join(segs[:i], "."), items)
				return
			}
			schemas = l.doc.itemSchemas(schemas, n)
			n.Content[idx] = cow(n.Content[idx])
			n = n.Content[idx]
		default:
			fail("%s is a value, not a mapping or list", strings.Join(segs[:i], "."))
			return
		}
	}
	// The override is a YAML value: "5s" stays a string, "10" an integer,
	// "[a, b]" a list.
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil || len(v.Content) == 0 {
		v = yaml.Node{Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}}}
	}
	line, col, file := n.Line, n.Column, diag.FileOf(n)
	*n = *v.Content[0]
	setPos(n, file, line, col)
}

// namesParts reports whether a mapping's keys name parts of the plan
// (targets, scenarios): its other keys must be objects.
func (d schemaDoc) namesParts(ks keyShape) bool {
	for _, s := range ks.extra {
		m, _ := s.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			m, _ = d.resolveRef(ref).(map[string]any)
		}
		if m["type"] == "object" {
			return true
		}
	}
	return false
}

// cow returns a copy of n (of its value, for an alias) that --set may
// change without changing what else shares n.
func cow(n *yaml.Node) *yaml.Node {
	n = deref(n)
	c := *n
	c.Content = slices.Clone(n.Content)
	c.Anchor = ""
	if f := diag.FileOf(n); f != "" {
		diag.SetFile(&c, f)
	}
	if ind, ok := recordedBlockIndent(n); ok {
		setBlockIndent(&c, ind)
	}
	return &c
}

// setPos places an overriding value where the value it replaced was (in
// file, a fragment, or the plan's own when empty), so that diagnostics
// about it point somewhere useful.
func setPos(n *yaml.Node, file string, line, col int) {
	n.Line, n.Column = line, col
	if file != "" {
		diag.SetFile(n, file)
	}
	for _, c := range n.Content {
		setPos(c, file, line, col)
	}
}
