// Package strictyaml decodes YAML configuration files strictly and with
// positions. It parses one document into yaml.v3 nodes and offers the checks
// every loader of phonehome needs — a mapping's keys known and not
// repeated, values of the expected kind, no aliases, lists capped — and
// collects every problem with its line and column instead of stopping at the
// first, so one run shows all of a file's mistakes.
//
// It knows nothing about what a file means: policy, signature packs, the
// devices file and leak key lists decode their own values on top of it and
// turn its Problems into their own error types.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Default caps of a Decoder.
const (
	DefaultMaxProblems = 100
	DefaultMaxItems    = 100000
)

// Problem is one mistake in a file; Line and Col are 1-based.
type Problem struct {
	Line, Col int
	Msg       string
}

func (p Problem) String() string { return fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg) }

// Decoder walks the nodes of one file and collects its problems. The zero
// value is ready to use.
type Decoder struct {
	// MaxProblems caps the problems kept (0: DefaultMaxProblems); past it
	// one last problem says how many more there were.
	MaxProblems int
	// MaxItems caps the list entries of the whole file (0: DefaultMaxItems),
	// so a hostile file cannot make a loader build arbitrarily much.
	MaxItems int

	problems []Problem
	dropped  int
	first    Problem // first dropped problem, for its position
	items    int
}

// Errf records a problem at the node's position.
func (d *Decoder) Errf(n *yaml.Node, format string, a ...any) {
	d.At(n.Line, n.Column, format, a...)
}

// At records a problem at a line and column.
func (d *Decoder) At(line, col int, format string, a ...any) {
	max := d.MaxProblems
	if max <= 0 {
		max = DefaultMaxProblems
	}
	p := Problem{Line: line, Col: col, Msg: fmt.Sprintf(format, a...)}
	if len(d.problems) >= max {
		if d.dropped == 0 {
			d.first = p
		}
		d.dropped++
		return
	}
	d.problems = append(d.problems, p)
}

// Len is the number of problems recorded so far (a caller compares it
// before and after decoding a part to know whether that part was sound).
func (d *Decoder) Len() int { return len(d.problems) + d.dropped }

// Problems returns the problems sorted by position (problems at the same
// place in the order found); past the cap, a last one at the first dropped
// position says how many were left out.
func (d *Decoder) Problems() []Problem {
	out := append([]Problem(nil), d.problems...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Col < out[j].Col
	})
	if d.dropped > 0 {
		out = append(out, Problem{Line: d.first.Line, Col: d.first.Col,
			Msg: fmt.Sprintf("%d more problems not shown", d.dropped)})
	}
	return out
}

// Parse reads data as exactly one YAML document and returns its top node.
// It returns nil for an empty document (no problem recorded: the caller says
// what an empty file means) and nil after a syntax error, which is recorded
// with its line; a second document is a problem too.
func (d *Decoder) Parse(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntax(data, err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.Errf(&extra, "more than one YAML document in the file")
	} else if !errors.Is(err, io.EOF) {
		d.syntax(data, err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax records a yaml.v3 syntax error ("yaml: line N: msg"). yaml.v3
// gives no column, so the column is the line's first non-blank character.
func (d *Decoder) syntax(data []byte, err error) {
	msg := err.Error()
	line, col := 1, 1
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserError(msg) {
			// yaml.v3 reports parser (not scanner) errors with a 0-based
			// line number.
			line++
		}
		lines := bytes.Split(data, []byte("\n"))
		if line >= 1 && line <= len(lines) {
			l := lines[line-1]
			col = len(l) - len(bytes.TrimLeft(l, " \t")) + 1
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d.At(line, col, "YAML syntax: %s", msg)
}

// parserMessages start the yaml.v3 parser errors, as opposed to scanner
// errors; it reports their line numbers 0-based.
var parserMessages = []string{
	"did not find expected key", "did not find expected '-' indicator", "did not find expected node content",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected <document start>",
	"found duplicate %YAML directive", "found incompatible YAML document", "found undefined tag handle",
	"found duplicate %TAG directive",
}

func parserError(msg string) bool {
	for _, p := range parserMessages {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// KindName says what kind of node n is, for messages ("a list").
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if Null(n) {
			return "nothing"
		}
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// Null reports an empty value (`key:`, `~`, `null`).
func Null(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// Plain reports whether n is not an alias; an alias is a problem: it could
// expand a small file into a large tree, and no phonehome file needs one.
func (d *Decoder) Plain(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		d.Errf(n, "YAML aliases are not allowed")
		return false
	}
	return true
}

// Kind reports whether n is of kind k; if not, a problem says "want WANT,
// found a list" (aliases are refused as in Plain).
func (d *Decoder) Kind(n *yaml.Node, k yaml.Kind, want string) bool {
	if !d.Plain(n) {
		return false
	}
	if n.Kind != k {
		d.Errf(n, "want %s, found %s", want, KindName(n))
		return false
	}
	return true
}

// Fields calls fn for every key of the mapping m, in file order. m must be
// a mapping (else the problem says "want WANT"); keys must be plain
// strings, given once; aliases are refused, keys and values alike.
func (d *Decoder) Fields(m *yaml.Node, want string, fn func(key string, k, v *yaml.Node)) bool {
	if !d.Kind(m, yaml.MappingNode, want) {
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !d.Plain(k) || !d.Plain(v) {
			continue
		}
		if k.Kind != yaml.ScalarNode || Null(k) {
			d.Errf(k, "keys must be plain strings")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.Errf(k, "key %q given twice (first on line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v)
	}
	return true
}

// Known is Fields for a mapping with a fixed set of keys: each value node is
// stored in its field, and an unknown key is a problem naming the known ones.
// what names the mapping in messages ("vendor").
func (d *Decoder) Known(m *yaml.Node, what string, fields map[string]**yaml.Node) bool {
	return d.Fields(m, what+" (a mapping)", func(key string, k, v *yaml.Node) {
		dst, ok := fields[key]
		if !ok {
			d.Errf(k, "unknown key %q in %s (want one of %s)", key, what, keyList(fields))
			return
		}
		*dst = v
	})
}

func keyList(fields map[string]**yaml.Node) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// String returns a scalar's text; what names it in messages. An empty
// value (null) is a problem.
func (d *Decoder) String(n *yaml.Node, what string) (string, bool) {
	if !d.Kind(n, yaml.ScalarNode, what+" (a string)") {
		return "", false
	}
	if Null(n) {
		d.Errf(n, "%s is empty", what)
		return "", false
	}
	return n.Value, true
}

// Int returns a scalar that is a whole number.
func (d *Decoder) Int(n *yaml.Node, what string) (int, bool) {
	if !d.Kind(n, yaml.ScalarNode, what+" (a number)") {
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		d.Errf(n, "%s: want a whole number, found %q", what, n.Value)
		return 0, false
	}
	return v, true
}

// Bool returns a scalar that is true or false (YAML 1.1 yes/no too).
func (d *Decoder) Bool(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "true", "True", "TRUE", "yes", "Yes", "YES":
			return true, true
		case "false", "False", "FALSE", "no", "No", "NO":
			return false, true
		}
	}
	if d.Plain(n) {
		d.Errf(n, "%s: want true or false, found %s", what, describe(n))
	}
	return false, false
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !Null(n) {
		return strconv.Quote(n.Value)
	}
	return KindName(n)
}

// List calls fn for every entry of a list of scalars; a single scalar
// counts as a list of one. Entries that are not scalars are problems, and
// so are entries past the file's MaxItems.
func (d *Decoder) List(n *yaml.Node, what string, fn func(it *yaml.Node)) {
	if n.Kind == yaml.ScalarNode && !Null(n) {
		if d.item(n) {
			fn(n)
		}
		return
	}
	if !d.Kind(n, yaml.SequenceNode, what+" (a list)") {
		return
	}
	for _, it := range n.Content {
		if !d.item(it) {
			return
		}
		if !d.Plain(it) {
			continue
		}
		if it.Kind != yaml.ScalarNode {
			d.Errf(it, "%s entry: want a plain value, found %s", what, KindName(it))
			continue
		}
		fn(it)
	}
}

// Seq calls fn for every entry of a list of any kind of node (aliases are
// refused), counting them against MaxItems.
func (d *Decoder) Seq(n *yaml.Node, what string, fn func(it *yaml.Node)) {
	if !d.Kind(n, yaml.SequenceNode, what) {
		return
	}
	for _, it := range n.Content {
		if !d.item(it) {
			return
		}
		if d.Plain(it) {
			fn(it)
		}
	}
}

// item counts one list entry; false (with a problem) past MaxItems.
func (d *Decoder) item(n *yaml.Node) bool {
	max := d.MaxItems
	if max <= 0 {
		max = DefaultMaxItems
	}
	if d.items++; d.items > max {
		if d.items == max+1 {
			d.Errf(n, "more than %d list entries in the file", max)
		}
		return false
	}
	return true
}
