package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/schema"
)

// A plan includes fragments: files that hold some of its named blocks and
// lists, shared between plans (docs/PLAN-FORMAT.md, "Including fragments").
//
//	include:
//	  - shared/targets.yaml   # relative to the including file
//
// The loader reads each fragment as it reads a plan (the same size limit;
// the plan and its fragments share one node limit), interpolates it, checks
// its keys and resolves its merge keys, then merges it into the plan before
// the --set overrides, the schema and the semantic checks, which so see one
// plan. Every node of a fragment is recorded with its file (diag.SetFile),
// so that every diagnostic about it, the loader's, the schema's and the
// drivers', names the fragment and its line.

// Limits on includes, documented in docs/PLAN-FORMAT.md.
const (
	// MaxIncludeDepth bounds how deep fragments include fragments: the
	// plan's own includes are at depth 1.
	MaxIncludeDepth = 8
	// MaxFragments bounds how many fragment files a plan includes in all.
	MaxFragments = 64
)

// fragmentKeys are the top-level keys a fragment may hold, besides x- keys
// (places for anchors, as in a plan).
var fragmentKeys = schema.PlanFragmentKeys

// namedKeys are the fragment keys whose value is a mapping of names, merged
// by name; the others (but include) are lists, concatenated. The value is
// what one entry is called in messages.
var namedKeys = map[string]string{"targets": "target", "scenarios": "scenario", "data": "data source"}

// fragment is one included file, read and prepared.
type fragment struct {
	// file names it in diagnostics: the including file's directory joined
	// with the include entry.
	file string
	root *yaml.Node
	data []byte
}

// includeState follows the includes of one plan.
type includeState struct {
	// read holds the absolute path of every file read (the plan's too): a
	// file included twice, by a diamond of includes, is merged once.
	read map[string]bool
	// order holds the fragments in merge order: a fragment's own includes
	// before it, in include order.
	order []*fragment
	// full is set once MaxFragments is passed (reported once); an empty
	// fragment counts too.
	full bool
}

// isFragment reports whether the top-level mapping root looks like a
// fragment rather than a plan: no version, and only keys a fragment holds.
func isFragment(root *yaml.Node) bool {
	if len(root.Content) == 0 {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i].Value
		if !slices.Contains(fragmentKeys, k) && !strings.HasPrefix(k, "x-") {
			return false
		}
	}
	return true
}

// prepareSource does to one file's top-level mapping, the plan's or a
// fragment's, what is done to each file before they are merged: positions
// of block scalars, ${VAR} interpolation, duplicate keys, merge keys. It
// runs after the file's bounds check.
func (l *loader) prepareSource(root *yaml.Node, data []byte) {
	l.recordBlockIndents(root, bytes.Split(data, []byte("\n")))
	// Problems found here do not stop loading: the schema and the semantic
	// checks still run, so that every problem is reported at once.
	l.interpolate(root)
	l.checkDuplicates(root)
	l.resolveMerges(root, map[*yaml.Node]bool{})
}

// include reads the fragments the plan's mapping root includes, and theirs,
// and merges them into root; its include key is removed.
func (l *loader) include(root *yaml.Node) {
	k, v := get(root, "include")
	if k == nil {
		return
	}
	st := &includeState{read: map[string]bool{}}
	if abs, err := filepath.Abs(l.file); err == nil {
		st.read[abs] = true
	}
	l.includes(st, l.file, v, []string{l.file})
	l.fragments = st.order
	removeKey(root, "include")
	l.merge(root, st.order)
}

// includes reads the fragments listed by the include value v of file
// (chain: the files that include it, from the plan, it last), depth first.
func (l *loader) includes(st *includeState, file string, v *yaml.Node, chain []string) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return
	}
	if v.Kind != yaml.SequenceNode {
		l.addf(v, "include: a list of fragment files, relative to this file (include: [shared/targets.yaml])")
		return
	}
	for _, e := range items(v) {
		if e.Kind != yaml.ScalarNode || e.ShortTag() != "!!str" || strings.TrimSpace(e.Value) == "" {
			l.addf(e, "include: each entry is the path of a fragment file, relative to this file (like shared/targets.yaml)")
			continue
		}
		name := e.Value
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(file), filepath.FromSlash(name))
		}
		name = filepath.Clean(name)
		abs, err := filepath.Abs(name)
		if err != nil {
			abs = name
		}
		if i := slices.IndexFunc(chain, func(c string) bool { a, _ := filepath.Abs(c); return a == abs }); i >= 0 {
			l.addf(e, "include cycle: %s includes itself (%s)", name, strings.Join(append(slices.Clone(chain[i:]), name), " → "))
			continue
		}
		if st.read[abs] {
			continue // included already, elsewhere: its names are merged once
		}
		if len(chain) > MaxIncludeDepth {
			l.addf(e, "include: fragments nest more than %d deep here, the limit (%s)", MaxIncludeDepth, strings.Join(append(slices.Clone(chain), name), " → "))
			continue
		}
		if len(st.read) > MaxFragments { // the plan's own file is in read too
			if !st.full {
				l.addf(e, "include: the plan includes more than %d fragment files, the limit", MaxFragments)
				st.full = true
			}
			continue
		}
		st.read[abs] = true
		data, err := readLimited(name, l.maxSize)
		if err != nil {
			l.addf(e, "include %s: %v", e.Value, err)
			continue
		}
		root := l.parseFragment(name, data)
		if root == nil {
			continue
		}
		l.checkFragmentKeys(root)
		if ik, iv := get(root, "include"); ik != nil {
			l.includes(st, name, iv, append(slices.Clone(chain), name))
		}
		st.order = append(st.order, &fragment{file: name, root: root, data: data})
	}
}

// readLimited reads file, refusing one larger than limit before reading it.
func readLimited(file string, limit int64) ([]byte, error) {
	data, diags := readPlan(file, Options{MaxSize: limit})
	if diags != nil {
		msg := diags[0].Msg
		msg = strings.TrimPrefix(msg, "cannot read plan: ")
		msg = strings.Replace(msg, "the plan is ", "the fragment is ", 1)
		return nil, errors.New(msg)
	}
	return data, nil
}

// parseFragment parses a fragment's bytes as the plan's are parsed, records
// the file of each of its nodes, and prepares it (prepareSource). It
// returns its top-level mapping, or nil when there is none to merge.
func (l *loader) parseFragment(file string, data []byte) *yaml.Node {
	if !l.checkUTF8(file, data) {
		return nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty fragment adds nothing
		}
		l.yamlError(file, err, data)
		return nil
	}
	setFiles(&doc, file)
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		setFiles(&extra, file)
		l.add(&extra, "a fragment file holds one YAML document; remove the second one (after ---)")
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		n := &doc
		if len(doc.Content) > 0 {
			n = doc.Content[0]
		}
		if n.ShortTag() == "!!null" {
			return nil // only comments
		}
		l.add(n, "a fragment is a YAML mapping of targets, scenarios, data, checks, recommendations, notify or include")
		return nil
	}
	if !l.checkBounds(&doc, l.maxSize) {
		return nil
	}
	root := doc.Content[0]
	l.prepareSource(root, data)
	return root
}

// setFiles records file as the file of n and of every node below it. It
// follows no alias: the anchored value is in the same document.
func setFiles(n *yaml.Node, file string) {
	diag.SetFile(n, file)
	for _, c := range n.Content {
		setFiles(c, file)
	}
}

// checkFragmentKeys reports the top-level keys a fragment may not hold.
func (l *loader) checkFragmentKeys(root *yaml.Node) {
	planKeys := l.doc.root()
	ks := l.doc.shapeOf(planKeys, root)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if slices.Contains(fragmentKeys, k.Value) || strings.HasPrefix(k.Value, "x-") {
			continue
		}
		holds := "a fragment holds " + strings.Join(fragmentKeys[:len(fragmentKeys)-1], ", ") + " and include (and x- keys for anchors)"
		if _, known := ks.known[k.Value]; known {
			l.addf(k, "%s belongs to the plan, not to a fragment: %s", k.Value, holds)
			continue
		}
		msg := fmt.Sprintf("unknown key %q in a fragment", k.Value)
		if s := diag.Suggest(k.Value, fragmentKeys); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += ": " + holds
		}
		l.add(k, msg)
	}
}

// removeKey removes the entry key from mapping n.
func removeKey(n *yaml.Node, key string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && !isMerge(n.Content[i]) {
			n.Content = slices.Delete(n.Content, i, i+2)
			return
		}
	}
}

// merge merges the fragments, in order, into the plan's mapping root: the
// entries of a named block (targets, scenarios, data) by name, a name
// defined twice being an error at the second definition; the items of a
// list (checks, recommendations, notify) concatenated, the fragments' first.
// The plan's own entries come last.
func (l *loader) merge(root *yaml.Node, frags []*fragment) {
	for _, key := range fragmentKeys {
		if key == "include" {
			continue
		}
		pk, pv := get(root, key)
		var parts []*yaml.Node // the values to merge, the plan's last
		var firstKey *yaml.Node
		for _, f := range frags {
			k, v := get(f.root, key)
			if k == nil || v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
				continue
			}
			if !l.mergeable(key, v) {
				continue
			}
			parts = append(parts, v)
			if firstKey == nil {
				firstKey = k
			}
		}
		if len(parts) == 0 {
			continue
		}
		switch {
		case pk == nil:
			// The plan has none: the key comes in where the first fragment
			// has it.
			pv = &yaml.Node{Kind: parts[0].Kind, Tag: parts[0].Tag, Line: parts[0].Line, Column: parts[0].Column}
			diag.SetFile(pv, diag.FileOf(parts[0]))
			root.Content = append(root.Content, firstKey, pv)
		case pv.Kind == yaml.ScalarNode && pv.ShortTag() == "!!null":
			// key: with nothing under it: the fragments' entries fill it.
			pv = &yaml.Node{Kind: parts[0].Kind, Tag: parts[0].Tag, Line: pv.Line, Column: pv.Column}
			setKey(root, key, pv)
		case !l.mergeable(key, pv):
			continue // the schema reports the plan's value
		default:
			// Copy: the value may be an alias to a node used elsewhere.
			c := *pv
			c.Anchor = ""
			pv = &c
			setKey(root, key, pv)
			parts = append(parts, pv)
		}
		if _, named := namedKeys[key]; named {
			pv.Content = l.mergeNamed(namedKeys[key], parts)
		} else {
			var out []*yaml.Node
			for _, p := range parts {
				out = append(out, p.Content...)
			}
			pv.Content = out
		}
	}
}

// mergeable reports whether v, the value of key in a file, is a mapping (of
// names) or a list as key wants, reporting it otherwise.
func (l *loader) mergeable(key string, v *yaml.Node) bool {
	_, named := namedKeys[key]
	switch {
	case named && v.Kind == yaml.MappingNode, !named && v.Kind == yaml.SequenceNode:
		return true
	case diag.FileOf(v) == "":
		return false // the plan's: the schema reports it
	case named:
		l.addf(v, "%s: got %s, want a mapping of names (like %s: {NAME: {...}})", key, kindWord(v), key)
	default:
		l.addf(v, "%s: got %s, want a list", key, kindWord(v))
	}
	return false
}

// setKey sets the value of key in mapping n.
func setKey(n *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && !isMerge(n.Content[i]) {
			n.Content[i+1] = v
			return
		}
	}
}

// mergeNamed merges mappings of names (what names one entry in messages),
// the first definition of a name kept. A name defined again in another
// file is reported at the second definition, with where the first is; one
// defined twice in the same file is a duplicate key, reported as such.
func (l *loader) mergeNamed(what string, parts []*yaml.Node) []*yaml.Node {
	first := map[string]*yaml.Node{}
	var out []*yaml.Node
	for _, p := range parts {
		for i := 0; i+1 < len(p.Content); i += 2 {
			k := p.Content[i]
			if prev, dup := first[k.Value]; dup {
				if diag.FileOf(prev) != diag.FileOf(k) {
					l.addf(k, "%s %q is also defined at %s: a name is defined once, in the plan or in one fragment it includes", what, k.Value, l.place(prev))
				}
				continue
			}
			first[k.Value] = k
			out = append(out, k, p.Content[i+1])
		}
	}
	return out
}

// place names where node n is, file:line:col, for a message about another
// node.
func (l *loader) place(n *yaml.Node) string {
	file := diag.FileOf(n)
	if file == "" {
		file = l.file
	}
	return fmt.Sprintf("%s:%d:%d", file, n.Line, n.Column)
}

// lineOf names where node n is for a message at node at: "line N" in the
// same file, file:line:col in another.
func (l *loader) lineOf(n, at *yaml.Node) string {
	if diag.FileOf(n) == diag.FileOf(at) {
		return fmt.Sprintf("line %d", n.Line)
	}
	return l.place(n)
}
