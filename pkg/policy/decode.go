package policy

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/internal/strictyaml"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo"
)

// Caps on one file, so that hostile input stays small in memory.
const (
	maxRules    = 10000
	maxItems    = 100000 // list entries in one file
	maxErrors   = 50
	maxIDLength = 64
)

var idRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Load reads and checks a policy file.
func Load(path string) (*Policy, error) {
	data, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// readCapped reads a file of at most MaxFileSize bytes.
func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileSize)}
	}
	return data, nil
}

// Parse checks and compiles a policy from YAML. All problems found are
// returned, joined; each is an *Error with file:line:col.
func Parse(file string, data []byte) (*Policy, error) {
	d := newDecoder(file)
	root := d.document(data)
	p := &Policy{File: file}
	if root == nil {
		return nil, d.err()
	}
	var rulesNode *yaml.Node
	hasVersion := false
	d.Fields(root, "a mapping with version and rules", func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			hasVersion = true
			p.Version, _ = d.Int(v, "version")
			if p.Version != Version && p.Version != 0 {
				d.Errf(v, "unsupported version %d (want %d)", p.Version, Version)
			}
		case "rules":
			rulesNode = v
		default:
			d.Errf(k, "unknown key %q (want version or rules)", key)
		}
	})
	if root.Kind != yaml.MappingNode {
		return nil, d.err()
	}
	if !hasVersion {
		d.Errf(root, "missing version: 1")
	}
	switch {
	case rulesNode == nil:
		d.Errf(root, "missing rules")
	case strictyaml.Null(rulesNode):
	case rulesNode.Kind == yaml.SequenceNode:
		seen := map[string]Pos{}
		for i, rn := range rulesNode.Content {
			if i >= maxRules {
				d.Errf(rn, "more than %d rules", maxRules)
				break
			}
			r := d.rule(rn)
			if r == nil {
				continue
			}
			if prev, dup := seen[r.ID]; dup {
				d.Errf(rn, "duplicate rule id %q (first at %s)", r.ID, prev)
				continue
			}
			seen[r.ID] = r.Pos
			p.Rules = append(p.Rules, r)
		}
	default:
		d.Errf(rulesNode, "rules: want a list of rules, found %s", strictyaml.KindName(rulesNode))
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// decoder is the strict YAML decoder of one policy or ignore file; its
// problems become *Error values of that file.
type decoder struct {
	strictyaml.Decoder
	file string
}

func newDecoder(file string) *decoder {
	return &decoder{Decoder: strictyaml.Decoder{MaxProblems: maxErrors, MaxItems: maxItems}, file: file}
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) err() error {
	probs := d.Problems()
	if len(probs) == 0 {
		return nil
	}
	errs := make(joined, len(probs))
	for i, p := range probs {
		errs[i] = &Error{Pos: Pos{File: d.file, Line: p.Line, Col: p.Col}, Msg: p.Msg}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errs
}

// joined is errors.Join with one error per line and ErrInvalid matching.
type joined []error

func (j joined) Error() string {
	parts := make([]string, len(j))
	for i, e := range j {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func (j joined) Unwrap() []error { return j }

// document parses data into its top node; nil after an error.
func (d *decoder) document(data []byte) *yaml.Node {
	if len(data) > MaxFileSize {
		d.At(1, 1, "file larger than %d bytes", MaxFileSize)
		return nil
	}
	root := d.Parse(data)
	if root == nil && d.Len() == 0 {
		d.At(1, 1, "empty file")
	}
	return root
}

// str is a string value; what names it in messages.
func (d *decoder) str(n *yaml.Node, what string) string {
	s, _ := d.String(n, what)
	return s
}

// list calls fn for each entry of a list of plain values (a single scalar
// counts as a list of one); an empty list is a mistake.
func (d *decoder) list(n *yaml.Node, what string, fn func(item *yaml.Node)) {
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.Errf(n, "empty list")
		return
	}
	d.List(n, what, fn)
}

// words decodes a list of names into lower case, each item's position
// kept for lint; what names an item in messages ("category").
func (d *decoder) words(n *yaml.Node, key, what string, lower bool) ([]string, []Pos) {
	var out []string
	var at []Pos
	d.list(n, key, func(it *yaml.Node) {
		c := strings.TrimSpace(it.Value)
		if lower {
			c = strings.ToLower(c)
		}
		if c == "" {
			d.Errf(it, "empty %s", what)
			return
		}
		out = append(out, c)
		at = append(at, d.pos(it))
	})
	return out, at
}

func (d *decoder) severity(n *yaml.Node, what string) audit.Severity {
	s, ok := d.String(n, what)
	if !ok {
		return audit.None
	}
	sev, err := audit.ParseSeverity(s)
	if err != nil {
		d.Errf(n, "%v", err)
	}
	return sev
}

// Rule keys that are options of some kinds (see the optional interfaces
// in rules.go).
const (
	keyDirection = "direction"
	keyCountry   = "country"
	keyKnown     = "known"
)

// rule decodes one rule mapping; nil when it is unusable.
func (d *decoder) rule(n *yaml.Node) *Rule {
	r := &Rule{Pos: d.pos(n), Severity: audit.High}
	var kindNode *yaml.Node
	opts := map[string]*yaml.Node{}
	hasID := false
	var direction Direction
	var field CountryField
	var known bool
	before := d.Len()
	ok := d.Fields(n, "a rule mapping with id and one check such as deny_countries", func(key string, k, v *yaml.Node) {
		switch key {
		case "id":
			hasID = true
			r.ID = d.str(v, "id")
			if r.ID != "" && (!idRE.MatchString(r.ID) || len(r.ID) > maxIDLength) {
				d.Errf(v, "rule id %q: want kebab-case (a-z, 0-9, -), at most %d characters", r.ID, maxIDLength)
			}
		case "message":
			r.Message = d.str(v, "message")
		case "severity":
			r.Severity = d.severity(v, "severity")
			if r.Severity == audit.None && v.Kind == yaml.ScalarNode && strings.EqualFold(v.Value, "none") {
				d.Errf(v, "severity none: want info, low, medium, high or critical")
			}
		case "devices":
			d.list(v, "devices", func(it *yaml.Node) {
				if it.Value == "" {
					d.Errf(it, "empty device")
					return
				}
				r.Devices = append(r.Devices, it.Value)
			})
		case keyDirection:
			opts[key] = v
			switch s := d.str(v, key); s {
			case "up", "down", "both":
				direction = Direction(s)
			case "":
			default:
				d.Errf(v, "direction %q: want up, down or both", s)
			}
		case keyCountry:
			opts[key] = v
			switch s := d.str(v, key); s {
			case "located", "registered":
				field = CountryField(s)
			case "":
			default:
				d.Errf(v, "country %q: want located (where the server is, the default) or registered (where its block is registered)", s)
			}
		case keyKnown:
			opts[key] = v
			known, _ = d.Bool(v, key)
		default:
			mk := checkFor(Kind(key))
			if mk == nil {
				d.Errf(k, "unknown key %q%s", key, suggest(key))
				return
			}
			if kindNode != nil {
				d.Errf(k, "rule already checks %s; put %s in a rule of its own", r.Kind, key)
				return
			}
			kindNode, r.Kind, r.Check = k, Kind(key), mk()
			r.Check.decode(d, v)
		}
	})
	if !ok {
		return nil
	}
	if r.ID == "" && !hasID {
		d.Errf(n, "rule without id")
	}
	if kindNode == nil && d.Len() == before {
		d.Errf(n, "rule %q checks nothing: add one of %s", r.ID, kindList())
	}
	if r.Check != nil {
		d.option(r, opts[keyDirection], keyDirection, func(c Check) bool {
			o, ok := c.(directed)
			if ok && direction != "" {
				o.setDirection(direction)
			}
			return ok
		})
		d.option(r, opts[keyCountry], keyCountry, func(c Check) bool {
			o, ok := c.(countryScoped)
			if ok && field != "" {
				o.setCountryField(field)
			}
			return ok
		})
		d.option(r, opts[keyKnown], keyKnown, func(c Check) bool {
			o, ok := c.(knownScoped)
			if ok {
				o.setKnown(known)
			}
			return ok
		})
	}
	if d.Len() > before {
		return nil
	}
	return r
}

// option applies a rule option (direction, country, known) given at node
// n to the rule's check; set reports whether that kind of check has it.
func (d *decoder) option(r *Rule, n *yaml.Node, key string, set func(Check) bool) {
	if n == nil || set(r.Check) {
		return
	}
	var have []string
	for _, k := range kinds {
		if set(k.new()) {
			have = append(have, string(k.kind))
		}
	}
	d.Errf(n, "%s applies to %s only", key, joinWords(have))
}

// joinWords writes "a, b and c".
func joinWords(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func kindList() string {
	var s []string
	for _, k := range Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// suggest names the right key for common misspellings.
func suggest(key string) string {
	k := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	k = strings.NewReplacer("allowed_", "allow_", "denied_", "deny_", "disallow_", "deny_", "forbid_", "deny_",
		"block_", "deny_", "asn_", "asns_", "min_tls", "min_tls_version", "max_bytes_per_dest_", "max_bytes_per_destination_").Replace(k)
	for _, kind := range Kinds() {
		if k == string(kind) || k+"s" == string(kind) || strings.TrimSuffix(k, "s") == string(kind) ||
			strings.HasPrefix(string(kind), k) && len(k) > 6 {
			return fmt.Sprintf(" (did you mean %s?)", kind)
		}
	}
	return fmt.Sprintf(" (want id, message, severity, devices or one of %s)", kindList())
}

// countries decodes a list of countries of a rule.
func (d *decoder) countries(v *yaml.Node, key string) []string {
	var out []string
	d.list(v, key, func(it *yaml.Node) {
		c, ok := countryCode(it.Value)
		if !ok {
			d.Errf(it, "country %q: want an ISO 3166 alpha-2 code such as CN, or anycast", it.Value)
			return
		}
		out = append(out, c)
	})
	return out
}

func (d *decoder) asns(v *yaml.Node, key string) []uint32 {
	var out []uint32
	d.list(v, key, func(it *yaml.Node) {
		n, ok := parseASN(it.Value)
		if !ok {
			d.Errf(it, "ASN %q: want a number such as 16509 or AS16509", it.Value)
			return
		}
		out = append(out, n)
	})
	return out
}

func (d *decoder) patterns(v *yaml.Node, key string) []Pattern {
	var out []Pattern
	d.list(v, key, func(it *yaml.Node) {
		p, err := ParsePattern(it.Value)
		if err != nil {
			d.Errf(it, "%v", err)
			return
		}
		out = append(out, p)
	})
	return out
}

// countryCode normalises a country of a rule: an ISO 3166 alpha-2 code
// (upper case) or "anycast" (well-known anycast networks, which have no
// single located country).
func countryCode(s string) (string, bool) {
	if strings.EqualFold(strings.TrimSpace(s), geo.Anycast) {
		return geo.Anycast, true
	}
	return CountryCode(s)
}

// CountryCode reads an ISO 3166-1 alpha-2 country code, case-insensitive,
// and returns it in upper case. Private-use codes (XX, ZZ, AA, QM–QZ,
// XA–XZ), groupings (EU) and anything but two letters are refused; UK, the
// reserved code for the United Kingdom, becomes GB as the geo data says.
func CountryCode(s string) (string, bool) {
	code := strings.ToUpper(strings.TrimSpace(s))
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return "", false
	}
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() {
		return "", false
	}
	if code == "UK" {
		code = "GB"
	}
	return code, true
}

func parseASN(s string) (uint32, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && strings.EqualFold(s[:2], "as") {
		s = s[2:]
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

func (d *decoder) size(n *yaml.Node) uint64 {
	if n.Kind != yaml.ScalarNode || strictyaml.Null(n) {
		if d.Plain(n) {
			d.Errf(n, "want a size such as 1048576, 64KiB or 10MB")
		}
		return 0
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		d.Errf(n, "%v", err)
	}
	return v
}

// ParseSize reads sizes like 1048576, 64KiB, 1MiB, 10MB, 2GB.
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000},
		{"kB", 1000}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := uint64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(strings.ReplaceAll(t, "_", ""), 10, 64)
	if err != nil || n > (1<<63)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 1048576, 64KiB, 10MB)", s)
	}
	return n * mult, nil
}
