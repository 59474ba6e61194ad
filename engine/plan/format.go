package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/schema"
)

// Format returns the plan file src in its canonical form (`runplan fmt`,
// docs/PLAN-FORMAT.md): the keys of the plan, its targets, scenarios,
// loads, steps, faults, checks and recommendations in the documented
// order (keys it does not order keep their order, after the ordered
// ones), two-space indentation, every duration the schema sch knows as
// one written canonically (schema.FormatDuration: 60s is 1m, 1500ms is
// 1.5s), and the values YAML 1.1 reads as booleans (off, yes, n) in
// double quotes. It keeps what the author wrote beyond that: comments (head,
// line and foot, moving with their keys, line comments at their column), blank
// lines between entries, folded and literal text as broken, quoting,
// ${VAR} strings, anchors, aliases, merge keys and x- keys.
//
// Format changes no meaning: it refuses (returns an error) a file that is
// not one YAML document, and checks that the formatted file decodes to
// the same values as src, durations compared as durations. A plan in
// canonical form is returned unchanged (Format is idempotent). The
// schema is not otherwise checked: an invalid plan is formatted too.
func Format(file string, src []byte, sch *schema.PlanSchema) ([]byte, error) {
	l := &loader{file: file}
	if bytes.Contains(src, []byte("~fmt:")) {
		// Format's own markers: the file would not come out as it went in.
		return nil, fmt.Errorf("%s: the file holds the text \"~fmt:\", which fmt uses for itself: it cannot format it", file)
	}
	if !l.checkUTF8(file, src) {
		return nil, l.diags
	}
	// A file written with CRLF line endings keeps them.
	crlf := bytes.Contains(src, []byte("\r\n"))
	if crlf {
		src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty", file)
		}
		l.yamlError(file, err, src)
		if len(l.diags) == 0 {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return nil, l.diags
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, diag.Diagnostics{diag.New(file, diag.PosOf(&extra), "a plan file holds one YAML document")}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: a plan is a YAML mapping", file)
	}
	if !l.checkBounds(&doc, max(int64(len(src)), DefaultMaxSize)) {
		return nil, l.diags
	}
	f := &formatter{lines: strings.Split(string(src), "\n"), doc: schemaDoc(sch.Doc()), seen: map[*yaml.Node]bool{},
		blank: map[*yaml.Node]bool{}}
	root := doc.Content[0]
	f.durations(root, f.doc.root(), 0)
	quoteOldBooleans(root)
	f.markLineComments(&doc)
	f.markFolded(&doc)
	ordered := yaml.Node{}
	copyTree(&ordered, &doc)
	f.markBlankLines(&doc)
	f.markBlankLines(&ordered)
	f.order(ordered.Content[0], ctxTop)
	f.keepFileComment(&doc, &ordered)
	tree := &ordered
	if !anchorsFirst(tree) {
		// Moving a key would put an alias before its anchor: the key
		// order is left as written.
		tree = &doc
	}
	if root := tree.Content[0]; len(root.Content) > 0 && tree.HeadComment == "" && strings.HasSuffix(root.Content[0].HeadComment, "\n") {
		// A comment at the top of the file with a blank line below it
		// (after a ---): the file's, and the blank line stays.
		tree.HeadComment = strings.TrimRight(root.Content[0].HeadComment, "\n")
		root.Content[0].HeadComment = ""
	}
	out, err := f.encode(tree)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if bytes.HasPrefix(src, []byte("---\n")) {
		out = append([]byte("---\n"), out...)
	}
	if bytes.Contains(out, []byte("~fmt:")) {
		return nil, fmt.Errorf("%s: fmt could not place a comment or a blank line of the file: please report it; the file is left as it is", file)
	}
	if err := sameMeaning(src, out); err != nil {
		return nil, fmt.Errorf("%s: fmt would change the plan's meaning (%v): please report it; the file is left as it is", file, err)
	}
	if crlf {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	return out, nil
}

// formatter holds what Format needs while it works on one file.
type formatter struct {
	lines []string
	doc   schemaDoc
	// seen are the values reached through an alias already.
	seen map[*yaml.Node]bool
	// blocks are the folded scalars' original lines, by marker number.
	blocks [][]string
	// blank are the entries with a blank line above them.
	blank map[*yaml.Node]bool
}

// Markers carried through the YAML encoder as comments and text, turned
// back into what they stand for afterwards.
const (
	colMarker   = "#~fmt:col="
	blockMarker = "~fmt:block="
)

// durations writes canonically every duration of n that the schemas
// (the schemas of n) know as one.
func (f *formatter) durations(n *yaml.Node, schemas []any, depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias != nil && !f.seen[n.Alias] {
			f.seen[n.Alias] = true
			f.durations(n.Alias, schemas, depth+1)
		}
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		ks := f.doc.shapeOf(schemas, n)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				// A merged mapping's keys are the keys of this one.
				if v.Kind == yaml.SequenceNode {
					for _, x := range v.Content {
						f.durations(x, schemas, depth+1)
					}
				} else {
					f.durations(v, schemas, depth+1)
				}
				continue
			}
			f.durations(v, ks.child(k.Value), depth+1)
		}
	case yaml.SequenceNode:
		items := f.doc.itemSchemas(schemas, n)
		for _, x := range n.Content {
			f.durations(x, items, depth+1)
		}
	case yaml.ScalarNode:
		if !f.isDuration(schemas, n) || n.Tag != "!!str" || strings.Contains(n.Value, "$") {
			return
		}
		d, err := schema.ParseDuration(n.Value)
		if err != nil {
			return
		}
		if c := schema.FormatDuration(d); c != n.Value {
			if back, err := schema.ParseDuration(c); err == nil && back == d {
				n.Value = c
			}
		}
	}
}

// isDuration reports whether one of the schemas of scalar n is a duration.
func (f *formatter) isDuration(schemas []any, n *yaml.Node) bool {
	var fs []map[string]any
	for _, s := range schemas {
		fs = f.doc.facets(s, n, fs, 0)
	}
	for _, m := range fs {
		if m["pattern"] == schema.DurationPattern {
			return true
		}
	}
	return false
}

// yaml11Boolean matches the words YAML 1.1 reads as booleans that YAML
// 1.2, which runplan reads, reads as strings (true and false are booleans
// in both).
var yaml11Boolean = regexp.MustCompile(`^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$`)

// quoteOldBooleans puts double quotes around every plain value (of a
// mapping entry, an item of a list) that YAML 1.1 tools would read as a
// boolean: rate_limit: off is the string "off" to runplan, false to them.
// Quoted, it is "off" to both; the value does not change.
func quoteOldBooleans(root *yaml.Node) {
	walk(root, func(n, parent *yaml.Node) {
		if n.Kind != yaml.ScalarNode || n.Style != 0 || n.ShortTag() != "!!str" || !yaml11Boolean.MatchString(n.Value) {
			return
		}
		if parent != nil && parent.Kind == yaml.MappingNode {
			if i := slices.Index(parent.Content, n); i%2 == 0 {
				return // a key
			}
		}
		n.Style = yaml.DoubleQuotedStyle
	})
}

// maxDepth bounds the walks of Format (the loader's nesting limit).
const maxDepth = 64

// walk calls fn on every node of the tree under n (not through aliases),
// with its parent mapping or sequence.
func walk(n *yaml.Node, fn func(n, parent *yaml.Node)) {
	var rec func(n, parent *yaml.Node, depth int)
	rec = func(n, parent *yaml.Node, depth int) {
		if n == nil || depth > maxDepth {
			return
		}
		fn(n, parent)
		for _, c := range n.Content {
			rec(c, n, depth+1)
		}
	}
	rec(n, nil, 0)
}

// markBlankLines notes the entries with a blank line above them (above
// their comments): the keys of block mappings and the items of block
// sequences. encode puts the blank lines back (blankLines).
func (f *formatter) markBlankLines(doc *yaml.Node) {
	walk(doc, func(n, parent *yaml.Node) {
		if parent == nil || parent.Style&yaml.FlowStyle != 0 || n.Line <= 1 {
			return
		}
		switch parent.Kind {
		case yaml.MappingNode:
			if i := slices.Index(parent.Content, n); i < 0 || i%2 != 0 || i == 0 && parent == doc.Content[0] {
				return
			}
		case yaml.SequenceNode:
		default:
			return
		}
		line := n.Line - 1 - headLines(n) // 1-based: the line above its comments
		if line >= 1 && line <= len(f.lines) && strings.TrimSpace(f.lines[line-1]) == "" {
			f.blank[n] = true
		}
	})
}

// headLines is how many lines the comment above entry n takes: its own,
// or, for an item that is a mapping, its first key's.
func headLines(n *yaml.Node) int {
	hc := n.HeadComment
	if hc == "" && n.Kind == yaml.MappingNode && len(n.Content) > 0 {
		hc = n.Content[0].HeadComment
	}
	if hc == "" {
		return 0
	}
	return strings.Count(hc, "\n") + 1
}

// blankLines puts the blank lines markBlankLines noted back into text,
// the encoding of tree: text is parsed again and walked beside tree, and
// an entry noted gets a blank line above it (above its comments).
func (f *formatter) blankLines(tree *yaml.Node, text string) (string, error) {
	if len(f.blank) == 0 {
		return text, nil
	}
	var again yaml.Node
	if err := yaml.Unmarshal([]byte(text), &again); err != nil {
		return "", err
	}
	lines := strings.Split(text, "\n")
	before := map[int]bool{} // 0-based lines to put a blank line above
	var pair func(a, b *yaml.Node, depth int) bool
	pair = func(a, b *yaml.Node, depth int) bool {
		if a == nil || b == nil || a.Kind != b.Kind || len(a.Content) != len(b.Content) || depth > maxDepth {
			return false
		}
		if f.blank[a] && b.Line > 1 {
			l := b.Line - 1 - headLines(b) // 0-based: the first line of its comments
			if l > 0 && l < len(lines) && strings.TrimSpace(lines[l-1]) != "" {
				before[l] = true
			}
		}
		for i := range a.Content {
			if !pair(a.Content[i], b.Content[i], depth+1) {
				return false
			}
		}
		return true
	}
	if !pair(tree, &again, 0) {
		return "", errors.New("the formatted file does not have the plan's shape")
	}
	var out []string
	for i, l := range lines {
		if before[i] {
			out = append(out, "")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n"), nil
}

// markLineComments keeps the column of line comments: aligned comments
// stay aligned.
func (f *formatter) markLineComments(doc *yaml.Node) {
	walk(doc, func(n, _ *yaml.Node) {
		if n.LineComment == "" || n.Line < 1 || n.Line > len(f.lines) || strings.Contains(n.LineComment, "\n") {
			return
		}
		line := f.lines[n.Line-1]
		col := commentColumn(line)
		if col < 0 {
			return
		}
		// Relative to the line's indentation, which formatting may change.
		col -= itemIndent(line)
		n.LineComment = colMarker + strconv.Itoa(col) + "~" + n.LineComment
	})
}

// commentColumn is the 0-based column of the comment that ends line, -1
// when it has none: a # after a space, outside quotes.
func commentColumn(line string) int {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				if quote == '\'' && i+1 < len(line) && line[i+1] == '\'' {
					i++
				} else {
					quote = 0
				}
			}
		case c == '"' || c == '\'':
			if i == 0 || strings.ContainsRune(" \t[{,:-", rune(line[i-1])) {
				quote = c
			}
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return i
		}
	}
	return -1
}

var headerRE = regexp.MustCompile(`^[>|][+-]?$`)

// markFolded keeps folded text (>) as its author broke it: the YAML
// encoder would join its lines into one. Its lines are kept aside and put
// back, reindented, by encode.
func (f *formatter) markFolded(doc *yaml.Node) {
	walk(doc, func(n, _ *yaml.Node) {
		if n.Kind != yaml.ScalarNode || n.Style&yaml.FoldedStyle == 0 || n.Line < 1 || n.Line > len(f.lines) {
			return
		}
		header := f.lines[n.Line-1]
		at := n.Column - 1
		if at < 0 || at >= len(header) {
			return
		}
		ind := strings.Fields(header[at:])
		if len(ind) == 0 || !headerRE.MatchString(ind[0]) || strings.HasSuffix(ind[0], "+") {
			return // an explicit indentation or keep chomping: left to the encoder
		}
		parent := indentOf(header)
		var body []string
		for i := n.Line; i < len(f.lines); i++ {
			l := f.lines[i]
			if strings.TrimSpace(l) != "" && indentOf(l) <= parent {
				break
			}
			body = append(body, l)
		}
		for len(body) > 0 && strings.TrimSpace(body[len(body)-1]) == "" {
			body = body[:len(body)-1]
		}
		if len(body) == 0 {
			return
		}
		min := -1
		for _, l := range body {
			if strings.TrimSpace(l) != "" && (min < 0 || indentOf(l) < min) {
				min = indentOf(l)
			}
		}
		for i, l := range body {
			if strings.TrimSpace(l) == "" {
				body[i] = ""
			} else {
				body[i] = l[min:]
			}
		}
		f.blocks = append(f.blocks, body)
		n.Value = blockMarker + strconv.Itoa(len(f.blocks)-1) + "~"
		n.Style = yaml.LiteralStyle
		if strings.HasSuffix(ind[0], "-") {
			n.Value = blockMarker + strconv.Itoa(len(f.blocks)-1) + "-~"
		}
	})
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// itemIndent is where a line's content starts, after its indentation and
// the dashes of the sequence items it opens.
func itemIndent(l string) int {
	i := 0
	for i < len(l) {
		switch {
		case l[i] == ' ':
			i++
		case l[i] == '-' && i+1 < len(l) && l[i+1] == ' ':
			i += 2
		default:
			return i
		}
	}
	return i
}

var (
	colRE   = regexp.MustCompile(` ` + regexp.QuoteMeta(colMarker) + `(\d+)~`)
	blockRE = regexp.MustCompile(`^( *)` + regexp.QuoteMeta(blockMarker) + `(\d+)(-?)~$`)
)

// encode writes the tree with two-space indentation and turns the markers
// back into blank lines, comment columns and folded text.
func (f *formatter) encode(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var out []string
	for _, l := range lines {
		switch {
		case blockRE.MatchString(l):
			m := blockRE.FindStringSubmatch(l)
			i, _ := strconv.Atoi(m[2])
			if len(out) > 0 {
				prev := out[len(out)-1]
				// The header the encoder wrote (|, |-) becomes the folded one.
				if j := strings.LastIndex(prev, " |"); j >= 0 {
					rest := strings.TrimPrefix(strings.TrimPrefix(prev[j+2:], "-"), "+")
					out[len(out)-1] = prev[:j] + " >" + m[3] + rest
				}
			}
			for _, b := range f.blocks[i] {
				if b == "" {
					out = append(out, "")
				} else {
					out = append(out, m[1]+b)
				}
			}
			continue
		}
		if loc := colRE.FindStringSubmatchIndex(l); loc != nil {
			col, _ := strconv.Atoi(l[loc[2]:loc[3]])
			before := strings.TrimRight(l[:loc[0]], " ")
			pad := max(col+itemIndent(l)-len([]rune(before)), 1)
			l = before + strings.Repeat(" ", pad) + l[loc[1]:]
		}
		out = append(out, l)
	}
	text, err := f.blankLines(doc, strings.Join(out, "\n")+"\n")
	return []byte(text), err
}

// copyTree copies the tree of src into dst, sharing nothing but alias
// targets' identities (an alias of the copy points into the copy).
func copyTree(dst, src *yaml.Node) {
	m := map[*yaml.Node]*yaml.Node{}
	var cp func(n *yaml.Node, depth int) *yaml.Node
	cp = func(n *yaml.Node, depth int) *yaml.Node {
		if n == nil || depth > maxDepth {
			return n
		}
		if c, ok := m[n]; ok {
			return c
		}
		c := &yaml.Node{}
		*c = *n
		m[n] = c
		c.Content = nil
		for _, x := range n.Content {
			c.Content = append(c.Content, cp(x, depth+1))
		}
		return c
	}
	c := cp(src, 0)
	*dst = *c
	// Aliases point to the copies of their anchors.
	walk(dst, func(n, _ *yaml.Node) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			if c, ok := m[n.Alias]; ok {
				n.Alias = c
			}
		}
	})
}

// anchorsFirst reports whether every alias of the tree comes after its
// anchor, in document order.
func anchorsFirst(doc *yaml.Node) bool {
	seen := map[*yaml.Node]bool{}
	ok := true
	walk(doc, func(n, _ *yaml.Node) {
		seen[n] = true
		if n.Kind == yaml.AliasNode && n.Alias != nil && !seen[n.Alias] {
			ok = false
		}
	})
	return ok
}

// sameMeaning checks that a and b decode to the same values, strings that
// are durations compared as durations.
func sameMeaning(a, b []byte) error {
	var va, vb any
	if err := yaml.Unmarshal(a, &va); err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, &vb); err != nil {
		return fmt.Errorf("the formatted file does not parse: %w", err)
	}
	if path, ok := equal(va, vb, ""); !ok {
		return fmt.Errorf("the value at %q differs", path)
	}
	return nil
}

func equal(a, b any, path string) (string, bool) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return path, false
		}
		for k, v := range x {
			if p, ok := equal(v, y[k], path+"/"+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return path, false
		}
		for i := range x {
			if p, ok := equal(x[i], y[i], path+"/"+strconv.Itoa(i)); !ok {
				return p, false
			}
		}
		return "", true
	case string:
		y, ok := b.(string)
		if ok && x != y {
			dx, errx := schema.ParseDuration(x)
			dy, erry := schema.ParseDuration(y)
			if errx == nil && erry == nil && dx == dy {
				return "", true
			}
		}
		return path, ok && x == y
	}
	return path, reflect.DeepEqual(a, b)
}

// Contexts of the mappings whose keys Format orders.
const (
	ctxNone = iota
	ctxTop
	ctxTargets
	ctxTarget
	ctxScenarios
	ctxScenario
	ctxLoad
	ctxSteps
	ctxStep
	ctxFaults
	ctxFault
	ctxChecks
	ctxCheck
	ctxRecommendations
	ctxRecommendation
	ctxNotifyList
	ctxNotify
	ctxStages
	ctxStage
	ctxBurst
	ctxReadiness
	ctxValidity
)

// keyOrder is the documented order of the keys of each context
// (docs/PLAN-FORMAT.md); "*" stands for the keys not listed, in the order
// written, and "x-" for the extension keys. A merge key comes first.
var keyOrder = map[int][]string{
	ctxTop: {"version", "name", "description", "seed", "interval", "late", "include", "x-",
		"targets", "data", "scenarios", "faults", "checks", "readiness", "validity", "recommendations", "notify", "*"},
	ctxTarget:         {"driver", "url", "*"},
	ctxScenario:       {"description", "start", "load", "data", "vars", "steps", "mix", "*"},
	ctxLoad:           {"vus", "rate", "stages", "burst", "iterations", "per_vu_iterations", "duration", "warmup", "max_vus", "graceful_stop", "late", "validity", "*"},
	ctxStep:           {"name", "weight", "target", "*", "sleep", "expect", "capture"},
	ctxFault:          {"name", "description", "target", "at", "for", "probability", "*", "recovery"},
	ctxCheck:          {"name", "description", "expr", "weight", "critical", "good", "bad", "*"},
	ctxRecommendation: {"when", "say", "*"},
	ctxNotify:         {"url", "flavor", "when", "*"},
	ctxStage:          {"duration", "target", "*"},
	ctxBurst:          {"size", "every", "count", "*"},
	ctxReadiness:      {"ready", "degraded", "*"},
	ctxValidity:       {"lag_p99", "late", "*"},
}

// children says the context of the values under a context's keys (or
// items); ctxNone for the values Format leaves as written.
func children(ctx int, key string) int {
	switch ctx {
	case ctxTop:
		return map[string]int{"targets": ctxTargets, "scenarios": ctxScenarios, "faults": ctxFaults, "checks": ctxChecks,
			"recommendations": ctxRecommendations, "notify": ctxNotifyList, "readiness": ctxReadiness, "validity": ctxValidity}[key]
	case ctxTargets:
		return ctxTarget
	case ctxScenarios:
		return ctxScenario
	case ctxScenario:
		switch key {
		case "load":
			return ctxLoad
		case "steps", "mix":
			return ctxSteps
		}
	case ctxLoad:
		return map[string]int{"stages": ctxStages, "burst": ctxBurst, "validity": ctxValidity}[key]
	case ctxSteps:
		return ctxStep
	case ctxFaults:
		return ctxFault
	case ctxChecks:
		return ctxCheck
	case ctxRecommendations:
		return ctxRecommendation
	case ctxNotifyList:
		return ctxNotify
	case ctxStages:
		return ctxStage
	}
	return ctxNone
}

// order puts the keys of n, a value of context ctx, and of the values
// under it in their documented order. Values reached through aliases are
// left as written.
func (f *formatter) order(n *yaml.Node, ctx int) {
	if n == nil || ctx == ctxNone {
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, x := range n.Content {
			f.order(x, children(ctx, ""))
		}
	case yaml.MappingNode:
		if want, ok := keyOrder[ctx]; ok {
			sortKeys(n, want)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			f.order(n.Content[i+1], children(ctx, n.Content[i].Value))
		}
	}
}

// sortKeys orders the entries of mapping n as want says, stably.
func sortKeys(n *yaml.Node, want []string) {
	rank := func(k string) int {
		switch {
		case k == "<<":
			return -1
		case strings.HasPrefix(k, "x-") && slices.Contains(want, "x-"):
			return slices.Index(want, "x-")
		}
		if i := slices.Index(want, k); i >= 0 {
			return i
		}
		return slices.Index(want, "*")
	}
	type entry struct{ k, v *yaml.Node }
	var es []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		es = append(es, entry{n.Content[i], n.Content[i+1]})
	}
	slices.SortStableFunc(es, func(a, b entry) int { return rank(a.k.Value) - rank(b.k.Value) })
	n.Content = n.Content[:0]
	for _, e := range es {
		n.Content = append(n.Content, e.k, e.v)
	}
}

// keepFileComment keeps the comment at the top of the file there: YAML
// gives it to the first key when no blank line follows it, and the key
// may move; the key that comes first gets it.
func (f *formatter) keepFileComment(orig, ordered *yaml.Node) {
	root := ordered.Content[0]
	if len(root.Content) == 0 || len(orig.Content[0].Content) == 0 {
		return
	}
	origFirst := orig.Content[0].Content[0]
	var moved *yaml.Node
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value == origFirst.Value && root.Content[i].Line == origFirst.Line {
			moved = root.Content[i]
		}
	}
	if moved == nil || moved == root.Content[0] || moved.HeadComment == "" {
		return
	}
	first := root.Content[0]
	if first.HeadComment == "" {
		first.HeadComment = moved.HeadComment
	} else {
		first.HeadComment = moved.HeadComment + "\n" + first.HeadComment
	}
	moved.HeadComment = ""
}
