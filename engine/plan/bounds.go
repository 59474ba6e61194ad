package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
)

// Limits on what a plan may hold, documented in docs/PLAN-FORMAT.md. A plan
// is a few kilobytes; the limits keep a hostile or mistaken file (a YAML
// alias bomb, a generated plan of millions of scenarios) from costing
// minutes and gigabytes before it is refused: yaml.v3 allocates about a
// hundred bytes per byte of dense input, so the size limit is what bounds
// the parse, and the node limit bounds everything after it.
const (
	// DefaultMaxSize is the largest plan file read unless Options.MaxSize
	// (--max-plan-size) says otherwise: 50 times the largest example plan,
	// and small enough that even a plan dense with nodes is parsed in a
	// fraction of a second and a few tens of megabytes.
	DefaultMaxSize = 256 << 10
	// BytesPerNode sets the node limit from the size limit: a plan may hold
	// one YAML node (a scalar, a mapping, a list) per BytesPerNode bytes of
	// its size limit, an alias counting every node of its value each time it
	// is used. Raising the size limit raises the node limit with it.
	BytesPerNode = 10
	// MaxDepth bounds how deep values nest (the plan's mapping is at depth
	// 1): a plan needs a dozen levels, a JSON body a few more, and the cost
	// of locating a value grows with its depth: YAML's own limit, 10,000,
	// fits in 20 kB of brackets and costs seconds.
	MaxDepth = 64
	// minMaxNodes keeps a tiny size limit from refusing a small plan that
	// uses aliases.
	minMaxNodes = 1000
)

// maxSize is the size limit the options ask for.
func (o Options) maxSize() int64 {
	if o.MaxSize > 0 {
		return o.MaxSize
	}
	return DefaultMaxSize
}

// MaxNodes returns the node limit that goes with a size limit.
func MaxNodes(maxSize int64) int {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return int(min(max(maxSize/BytesPerNode, minMaxNodes), math.MaxInt32))
}

// readPlan reads the plan file at path, refusing one larger than the limit
// before reading it: a regular file by its size, anything else (a pipe) by
// reading at most one byte past the limit.
func readPlan(path string, opts Options) ([]byte, diag.Diagnostics) {
	limit := opts.maxSize()
	f, err := os.Open(path)
	if err != nil {
		return nil, diag.Diagnostics{{File: path, Msg: fmt.Sprintf("cannot read plan: %v", unwrapPath(err))}}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, diag.Diagnostics{tooLarge(path, fi.Size(), limit)}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, diag.Diagnostics{{File: path, Msg: fmt.Sprintf("cannot read plan: %v", unwrapPath(err))}}
	}
	if int64(len(data)) > limit {
		return nil, diag.Diagnostics{tooLarge(path, -1, limit)}
	}
	return data, nil
}

func unwrapPath(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// tooLarge is the diagnostic for a plan past the size limit; size is -1
// when unknown (only that it is larger).
func tooLarge(file string, size, limit int64) diag.Diagnostic {
	what := "larger than"
	if size >= 0 {
		what = Size(size).String() + ", more than"
	}
	return diag.Diagnostic{File: file, Msg: fmt.Sprintf("the plan is %s the %s limit (a plan is usually a few kB): "+
		"if it really is this large, raise the limit with --max-plan-size, e.g. --max-plan-size %s", what, Size(limit), Size(suggestLimit(size, limit)))}
}

// suggestLimit is a round limit above size (or 16 times limit if size is
// unknown).
func suggestLimit(size, limit int64) int64 {
	want := size
	if want < 0 {
		want = limit * 16
	}
	s := int64(DefaultMaxSize)
	for s < want && s < math.MaxInt64/2 {
		s *= 2
	}
	return s
}

// boundsChecker counts the nodes of a YAML document with every alias
// expanded where it is used, without expanding anything: the count of a
// node is memoised, so that the work is linear in the document's own
// nodes even when aliases would expand it a billion times.
type boundsChecker struct {
	limit  int
	memo   map[*yaml.Node]extent
	active map[*yaml.Node]bool
	// cycle is the alias found inside the value it refers to.
	cycle *yaml.Node
	seen  int
}

// extent is the size of a node's value with its aliases expanded: its
// nodes (saturated past the limit) and its height.
type extent struct{ nodes, height int }

var errCycle = errors.New("alias cycle")

// count returns the extent of n, aliases expanded.
func (b *boundsChecker) count(n *yaml.Node) (extent, error) {
	if e, ok := b.memo[n]; ok {
		return e, nil
	}
	if b.active[n] {
		return extent{}, errCycle
	}
	b.active[n] = true
	defer delete(b.active, n)
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		e, err := b.count(n.Alias)
		if err != nil {
			if b.cycle == nil {
				b.cycle = n
			}
			return extent{}, err
		}
		e.nodes = min(e.nodes+1, b.limit+1)
		b.memo[n] = e
		return e, nil
	}
	e := extent{nodes: 1, height: 1}
	for _, ch := range n.Content {
		k, err := b.count(ch)
		if err != nil {
			return extent{}, err
		}
		e.nodes = min(e.nodes+k.nodes, b.limit+1)
		e.height = max(e.height, k.height+1)
	}
	b.memo[n] = e
	return e, nil
}

// checkBounds refuses a document with more nodes than the limit, counting
// an alias's value each time it is used, with values nested deeper than
// MaxDepth, or with an alias inside the value it refers to. It reports the
// node or the alias where the limit is passed, and returns false when the
// document must not be walked further.
func (l *loader) checkBounds(doc *yaml.Node, maxSize int64) bool {
	// The plan and the fragments it includes share one node budget.
	b := &boundsChecker{limit: MaxNodes(maxSize), memo: map[*yaml.Node]extent{}, active: map[*yaml.Node]bool{}, seen: l.nodesSeen}
	defer func() { l.nodesSeen = b.seen }()
	// depth is 1 for the plan's mapping.
	var walk func(n *yaml.Node, depth int) bool
	walk = func(n *yaml.Node, depth int) bool {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			e, err := b.count(n.Alias)
			if err != nil {
				at := b.cycle
				if at == nil {
					at = n
				}
				l.addf(at, "alias *%s is used inside the value it refers to: YAML cannot expand it (move the anchor &%s to a value that does not contain the alias)", at.Value, at.Value)
				return false
			}
			if b.seen+e.nodes > b.limit {
				l.addf(n, "alias *%s expands the plan past its limit of %s YAML nodes: an alias counts all the nodes of its value each time it is used (--max-plan-size raises the limit, now %s: one node per %d bytes)",
					n.Value, printer.Sprint(b.limit), Size(maxSize), BytesPerNode)
				return false
			}
			if depth-1+e.height > MaxDepth {
				l.addf(n, "alias *%s nests values more than %d deep, the limit", n.Value, MaxDepth)
				return false
			}
			b.seen += e.nodes
			return true
		}
		b.seen++
		if b.seen > b.limit {
			l.addf(n, "the plan has more than %s YAML nodes (values, mappings and lists), its limit: if it really is this large, raise it with --max-plan-size (now %s: one node per %d bytes; see docs/PLAN-FORMAT.md)",
				printer.Sprint(b.limit), Size(maxSize), BytesPerNode)
			return false
		}
		if depth > MaxDepth {
			l.addf(n, "values nest more than %d deep here, the limit (a plan needs a dozen levels or so)", MaxDepth)
			return false
		}
		for _, c := range n.Content {
			if !walk(c, depth+1) {
				return false
			}
		}
		return true
	}
	return walk(doc, 0)
}

// Size is a byte count written with a unit, as --max-plan-size takes it:
// 1048576, 512KiB, 4MiB, 1GiB, or decimal 500KB, 4MB, 1GB. It implements
// flag.Value.
type Size int64

// String renders the size in the largest binary unit that keeps it short.
func (s Size) String() string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(s)
	i := 0
	// 1023.97KiB would print as 1024.0KiB: move up at what rounds to 1024.
	for f >= 1023.95 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f == math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', 0, 64) + units[i]
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + units[i]
}

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
}

// ParseSize parses a size such as 4MiB, 500KB or 1048576 (bytes).
func ParseSize(text string) (Size, error) {
	t := strings.TrimSpace(text)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	f, err := strconv.ParseFloat(num, 64)
	mult, known := sizeUnits[unit]
	if err != nil || !known || f <= 0 || f*mult > math.MaxInt64/2 || f*mult < 1 {
		return 0, fmt.Errorf("plan: size %q: write a positive size like 4MiB, 512KiB, 500KB or 1048576 (bytes)", text)
	}
	return Size(f * mult), nil
}

// Set implements flag.Value.
func (s *Size) Set(text string) error {
	v, err := ParseSize(text)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// maxEncodingDiags bounds the diagnostics about bytes that are not UTF-8:
// a binary file would otherwise give one per line.
const maxEncodingDiags = 20

// checkUTF8 reports the first byte that is not UTF-8 on each line, at its
// line and column: yaml.v3 reports such a byte without a position. A plan
// in UTF-16 (with its byte order mark) is left to yaml.v3, which reads it.
func (l *loader) checkUTF8(file string, data []byte) bool {
	if utf8.Valid(data) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return true
	}
	line, lineStart, reported := 1, 0, 0
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		switch {
		case r == '\n':
			line, lineStart = line+1, off+1
		case r == utf8.RuneError && size == 1:
			b := data[off]
			if reported == maxEncodingDiags {
				l.diags = append(l.diags, diag.Diagnostic{File: file, Line: line, Col: utf8.RuneCount(data[lineStart:off]) + 1,
					Msg: "more bytes that are not UTF-8 follow: save the plan as UTF-8"})
				return false
			}
			msg := fmt.Sprintf("byte 0x%02X is not UTF-8", b)
			if b >= 0xA0 {
				msg += fmt.Sprintf(" (%c in Latin-1?)", rune(b))
			}
			l.diags = append(l.diags, diag.Diagnostic{File: file, Line: line, Col: utf8.RuneCount(data[lineStart:off]) + 1,
				Msg: msg + ": save the plan as UTF-8"})
			reported++
			// One per line: skip to the next.
			if nl := bytes.IndexByte(data[off:], '\n'); nl >= 0 {
				off += nl
				continue
			}
			return false
		}
		off += size
	}
	return false
}
