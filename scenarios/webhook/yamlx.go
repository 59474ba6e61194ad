package webhook

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
)

// field is one key/value pair of a YAML mapping.
type field struct{ key, val *yaml.Node }

// deref follows aliases so that anchors in plans behave like their targets.
func deref(n *yaml.Node) *yaml.Node { return decode.Value(n) }

// fields returns the pairs of mapping n, reporting (not stopping at) non-string
// and duplicate keys. what names the mapping in messages.
func fields(n *yaml.Node, what string, errs *[]error) []field {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		*errs = append(*errs, diag.Errorf(n, "webhook: %s must be a mapping, not %s", what, kindName(n)))
		return nil
	}
	out := make([]field, 0, len(n.Content)/2)
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			*errs = append(*errs, diag.Errorf(k, "webhook: %s: keys must be strings", what))
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			*errs = append(*errs, diag.Errorf(k, "webhook: %s: duplicate key %q (first at line %d)", what, k.Value, prev.Line))
			continue
		}
		seen[k.Value] = k
		out = append(out, field{k, v})
	}
	return out
}

// kindName names a node's kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	default:
		return "this"
	}
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool { return decode.IsNull(n) }

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue refuses the bytes that would split or corrupt a header.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
