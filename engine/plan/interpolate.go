package plan

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
	"weak"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/redact"
)

// blockIndents records the content column of block scalars (| and >),
// which yaml.v3 does not give: their Column is the indicator's. It is keyed
// by weak pointers, and an entry is dropped when its node is collected, so
// that a long-lived process that loads many plans does not keep them all.
var blockIndents sync.Map // weak.Pointer[yaml.Node] -> int

// setBlockIndent records n's content column; safe for concurrent use.
func setBlockIndent(n *yaml.Node, col int) {
	k := weak.Make(n)
	if _, loaded := blockIndents.Swap(k, col); !loaded {
		runtime.AddCleanup(n, func(k weak.Pointer[yaml.Node]) { blockIndents.Delete(k) }, k)
	}
}

// recordedBlockIndent returns the column setBlockIndent recorded for n.
func recordedBlockIndent(n *yaml.Node) (int, bool) {
	c, ok := blockIndents.Load(weak.Make(n))
	if !ok {
		return 0, false
	}
	return c.(int), true
}

// LookupEnv finds an environment variable; os.LookupEnv in production.
type LookupEnv func(name string) (string, bool)

var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// interpolate replaces ${NAME} and ${NAME:-default} in every scalar below n.
// "$${" escapes a literal "${". Problems are appended to diags.
//
// Every value an environment variable brings in is given to l.secrets (the
// rule of what is masked is redact.AddVar's), and so are the credentials of
// every URL-shaped scalar, written in the plan or interpolated, and values
// written under a secret key (password:, secret:, Authorization:): an error
// that quotes any of them, wherever it lands, prints it masked.
func (l *loader) interpolate(n *yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			l.interpolate(c)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			k, v := n.Content[i-1], n.Content[i]
			l.interpolate(v)
			// password: ..., secret: ..., an Authorization header: a value
			// written under a secret name is a secret, even typed in.
			if v.Kind == yaml.ScalarNode && secretField(k.Value) {
				l.secrets.AddVar(k.Value, v.Value)
			}
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			l.secrets.AddURL(n.Value)
			return
		}
		out, changed := l.expand(n)
		l.secrets.AddURL(out)
		if changed {
			n.Value = out
			switch {
			case out == "":
				n.Tag = "!!str" // an empty value is an empty string, not null
			case n.Style == 0 || n.Style == yaml.TaggedStyle:
				n.Tag = "" // re-resolve: "${POOL:-64}" becomes the integer 64
			}
		}
	}
}

// secretField reports whether a plan key names a secret (password, token,
// secret, an Authorization or X-Api-Key header). The plan's own key:
// and url: fields are not: a key template is not secret, and URLs are
// handled by their shape.
func secretField(name string) bool {
	switch strings.ToLower(name) {
	case "key", "url", "keys":
		return false
	}
	return redact.SecretName(name)
}

func (l *loader) expand(n *yaml.Node) (string, bool) {
	s := n.Value
	var b strings.Builder
	last := 0
	for _, m := range envRef.FindAllStringSubmatchIndex(s, -1) {
		start, end := m[0], m[1]
		if start > 0 && s[start-1] == '$' { // $${ escape
			b.WriteString(s[last : start-1])
			b.WriteString(s[start:end])
			last = end
			continue
		}
		b.WriteString(s[last:start])
		last = end
		inner := s[m[2]:m[3]]
		name, def, hasDef := strings.Cut(inner, ":-")
		if !envName.MatchString(name) {
			l.errAtOffset(n, start, fmt.Sprintf("invalid variable reference ${%s}: use ${NAME} or ${NAME:-default}", inner))
			continue
		}
		if v, ok := l.env(name); ok && (v != "" || !hasDef) {
			l.secrets.AddVar(name, v)
			b.WriteString(v)
			continue
		}
		if hasDef {
			b.WriteString(def)
			continue
		}
		l.errAtOffset(n, start, fmt.Sprintf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name))
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// errAtOffset reports a problem at byte offset off of scalar n's value,
// exact for single-line plain and quoted scalars.
func (l *loader) errAtOffset(n *yaml.Node, off int, msg string) {
	line, col := offsetPos(n, off)
	l.diags = append(l.diags, diag.At(l.file, n, line, col, msg))
}

// offsetPos maps a byte offset inside a scalar's value to a file position.
// Columns count runes, as YAML positions do. Exact for single-line plain and
// quoted scalars without escapes; block scalars are assumed indented two
// columns past their key.
func offsetPos(n *yaml.Node, off int) (int, int) {
	before := n.Value[:min(max(off, 0), len(n.Value))]
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// Block scalars start on the next line; count lines in the value.
		lines := strings.Count(before, "\n")
		col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
		return n.Line + 1 + lines, blockIndent(n) + col
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return n.Line, n.Column + 1 + utf8.RuneCountInString(before)
	default:
		return n.Line, n.Column + utf8.RuneCountInString(before)
	}
}

// blockIndent is the column where a block scalar's content starts. The
// loader records it from the source (see loader.indents); without it, two
// past the key's column is YAML's usual style.
func blockIndent(n *yaml.Node) int {
	if c, ok := recordedBlockIndent(n); ok {
		return c
	}
	return n.Column
}

// OffsetPos maps an offset inside scalar n's value to a file position
// (line, column); exact for single-line plain and quoted scalars.
func OffsetPos(n *yaml.Node, off int) (int, int) { return offsetPos(n, off) }
