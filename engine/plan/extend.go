package plan

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// Plans share blocks the way Docker Compose files do: an anchor (&name) on a
// value, usually under a top-level x- key that runplan ignores, and YAML
// merge keys (<<: *name) that copy a mapping's entries into another. The
// loader resolves both before validation, so the schema, the decoder and
// the drivers see the plan the author meant, while positions still point
// at the file: a merged entry is the anchored one, not a copy.

// isMerge reports whether k is a YAML merge key: a plain <<, not "<<".
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// resolveMerges replaces every merge key below n by the entries it merges,
// as YAML 1.1 defines it (and Docker Compose applies it): the mapping's own
// keys win, wherever they stand; of a list of mappings, an earlier one wins.
// The merge is shallow: a key's value is taken whole. It runs after the
// bounds check, which rules out alias cycles, and visits each node once.
func (l *loader) resolveMerges(n *yaml.Node, done map[*yaml.Node]bool) {
	if n == nil || done[n] {
		return
	}
	done[n] = true
	if n.Kind == yaml.AliasNode {
		l.resolveMerges(n.Alias, done)
		return
	}
	// Children first: a merged mapping has its own merges resolved.
	for _, c := range n.Content {
		l.resolveMerges(c, done)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	has := false
	own := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			has = true
		} else {
			own[n.Content[i].Value] = true
		}
	}
	if !has {
		return
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMerge(k) {
			out = append(out, k, v)
			continue
		}
		for _, src := range l.mergeSources(v) {
			l.resolveMerges(src, done)
			for j := 0; j+1 < len(src.Content); j += 2 {
				sk := src.Content[j]
				if own[sk.Value] {
					continue
				}
				own[sk.Value] = true
				out = append(out, sk, src.Content[j+1])
				if l.mergedBy[sk] == nil {
					l.mergedBy[sk] = k
				}
			}
		}
	}
	n.Content = out
}

// mergeSources returns the mappings a merge key's value names, reporting
// anything else.
func (l *loader) mergeSources(at *yaml.Node) []*yaml.Node {
	v := deref(at)
	switch v.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{v}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, it := range v.Content {
			if m := deref(it); m.Kind == yaml.MappingNode {
				out = append(out, m)
			} else {
				l.addf(it, "<<: merges mappings; this item of its list is %s (write <<: *name, where &name is on a mapping, or <<: [*a, *b])", kindWord(m))
			}
		}
		return out
	}
	l.addf(at, "<<: merges a mapping into this one; this is %s (write <<: *name, where &name is on a mapping, or <<: [*a, *b])", kindWord(v))
	return nil
}

func kindWord(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "empty"
		}
		return "a value, " + n.Value
	}
	return "not a mapping"
}

// stripExtensions removes the x- keys of every mapping whose keys runplan
// names (see keyShape.defined), following the schema down the tree: there
// they are extensions, places for anchors, as in Docker Compose. In the
// author's own mappings (headers, JSON bodies, names of scenarios) an x- key
// is data and stays.
func (l *loader) stripExtensions(n *yaml.Node, schemas []any) {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		ks := l.doc.shapeOf(schemas, n)
		out := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if _, named := ks.known[k.Value]; ks.defined && !named && strings.HasPrefix(k.Value, "x-") {
				continue
			}
			out = append(out, k, v)
			l.stripExtensions(v, ks.child(k.Value))
		}
		n.Content = out
	case yaml.SequenceNode:
		items := l.doc.itemSchemas(schemas, n)
		for _, c := range n.Content {
			l.stripExtensions(c, items)
		}
	}
}
