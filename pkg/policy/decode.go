package policy

import (
	"fmt"
	"golang.org/x/text/language"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

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
	d := &decoder{file: file}
	root := d.document(data)
	p := &Policy{File: file}
	if root == nil {
		return nil, d.err()
	}
	if root.Kind != yaml.MappingNode {
		d.errf(root, "want a mapping with version and rules")
		return nil, d.err()
	}
	var rulesNode *yaml.Node
	d.fields(root, func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			p.Version = d.int(v)
			if p.Version != Version && p.Version != 0 {
				d.errf(v, "unsupported version %d (want %d)", p.Version, Version)
			}
		case "rules":
			rulesNode = v
		default:
			d.errf(k, "unknown key %q (want version or rules)", key)
		}
	})
	if p.Version == 0 && !d.has(root, "version") {
		d.errf(root, "missing version: 1")
	}
	if rulesNode == nil {
		d.errf(root, "missing rules")
	} else if rulesNode.Kind == yaml.SequenceNode || d.nullish(rulesNode) {
		seen := map[string]Pos{}
		for i, rn := range rulesNode.Content {
			if i >= maxRules {
				d.errf(rn, "more than %d rules", maxRules)
				break
			}
			r := d.rule(rn)
			if r == nil {
				continue
			}
			if prev, dup := seen[r.ID]; dup {
				d.errf(rn, "duplicate rule id %q (first at %s)", r.ID, prev)
				continue
			}
			seen[r.ID] = r.Pos
			p.Rules = append(p.Rules, r)
		}
	} else {
		d.errf(rulesNode, "rules: want a list of rules")
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// decoder walks yaml.v3 nodes and collects positioned errors.
type decoder struct {
	file  string
	errs  []error
	items int
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errf(n *yaml.Node, format string, a ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, a...)})
}

func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	if len(d.errs) == 1 {
		return d.errs[0]
	}
	return joined(d.errs)
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

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data into its top node; nil after an error.
func (d *decoder) document(data []byte) *yaml.Node {
	top := &yaml.Node{Line: 1, Column: 1}
	if len(data) > MaxFileSize {
		d.errf(top, "file larger than %d bytes", MaxFileSize)
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 1
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		d.errf(&yaml.Node{Line: line, Column: 1}, "YAML syntax: %s", msg)
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		d.errf(top, "empty file")
		return nil
	}
	return doc.Content[0]
}

// fields calls fn for every key of a mapping, rejecting aliases, merge
// keys and duplicate keys.
func (d *decoder) fields(m *yaml.Node, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !d.plain(k) || !d.plain(v) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errf(k, "keys must be plain strings")
			continue
		}
		if seen[k.Value] {
			d.errf(k, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
}

// plain rejects YAML aliases: they could expand a small file into a large
// tree, and policies never need them.
func (d *decoder) plain(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		d.errf(n, "YAML aliases are not supported")
		return false
	}
	return true
}

func (d *decoder) has(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (d *decoder) nullish(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func (d *decoder) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || d.nullish(n) {
		d.errf(n, "want a string")
		return ""
	}
	return n.Value
}

func (d *decoder) int(n *yaml.Node) int {
	if n.Kind != yaml.ScalarNode {
		d.errf(n, "want a number")
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		d.errf(n, "want a whole number, not %q", n.Value)
	}
	return v
}

func (d *decoder) bool(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "true", "True", "TRUE", "yes":
			return true
		case "false", "False", "FALSE", "no":
			return false
		}
	}
	d.errf(n, "want true or false")
	return false
}

// list returns the items of a sequence (a single scalar counts as a list
// of one), each checked by fn.
func (d *decoder) list(n *yaml.Node, fn func(item *yaml.Node)) {
	switch n.Kind {
	case yaml.ScalarNode:
		if d.nullish(n) {
			d.errf(n, "want a list")
			return
		}
		d.items++
		fn(n)
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			d.errf(n, "empty list")
		}
		for _, it := range n.Content {
			if d.items++; d.items > maxItems {
				d.errf(it, "more than %d list entries in the file", maxItems)
				return
			}
			if !d.plain(it) {
				continue
			}
			if it.Kind != yaml.ScalarNode {
				d.errf(it, "want a plain value")
				continue
			}
			fn(it)
		}
	default:
		d.errf(n, "want a list")
	}
}

func (d *decoder) severity(n *yaml.Node) audit.Severity {
	s, err := audit.ParseSeverity(d.str(n))
	if err != nil && n.Kind == yaml.ScalarNode {
		d.errf(n, "%v", err)
	}
	return s
}

// rule decodes one rule mapping; nil when it is unusable.
func (d *decoder) rule(n *yaml.Node) *Rule {
	if !d.plain(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "want a rule mapping with id and one check such as deny_countries")
		return nil
	}
	r := &Rule{Pos: d.pos(n), Severity: audit.High, pos: map[string]Pos{}}
	var kindNode, dirNode, knownNode, countryNode *yaml.Node
	before := len(d.errs)
	d.fields(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "id":
			r.ID = d.str(v)
			if r.ID != "" && (!idRE.MatchString(r.ID) || len(r.ID) > maxIDLength) {
				d.errf(v, "rule id %q: want kebab-case (a-z, 0-9, -), at most %d characters", r.ID, maxIDLength)
			}
		case "message":
			r.Message = d.str(v)
		case "severity":
			r.Severity = d.severity(v)
			if r.Severity == audit.None && v.Kind == yaml.ScalarNode && strings.EqualFold(v.Value, "none") {
				d.errf(v, "severity none: want info, low, medium, high or critical")
			}
		case "devices":
			d.list(v, func(it *yaml.Node) {
				if it.Value == "" {
					d.errf(it, "empty device")
					return
				}
				r.Devices = append(r.Devices, it.Value)
			})
		case "direction":
			dirNode = v
			switch s := d.str(v); s {
			case "up", "down", "both":
				r.Direction = Direction(s)
			case "":
			default:
				d.errf(v, "direction %q: want up, down or both", s)
			}
		case "country":
			countryNode = v
			switch s := d.str(v); s {
			case "located", "registered":
				r.CountryField = CountryField(s)
			case "":
			default:
				d.errf(v, "country %q: want located (where the server is, the default) or registered (where its block is registered)", s)
			}
		case "known":
			knownNode = v
			r.Known = d.bool(v)
		default:
			kind := Kind(key)
			if !slices.Contains(Kinds(), kind) {
				d.errf(k, "unknown key %q%s", key, suggest(key))
				return
			}
			if kindNode != nil {
				d.errf(k, "rule already checks %s; put %s in a rule of its own", r.Kind, key)
				return
			}
			kindNode, r.Kind = k, kind
			d.params(r, v)
		}
	})
	if r.ID == "" && !d.has(n, "id") {
		d.errf(n, "rule without id")
	}
	if kindNode == nil && len(d.errs) == before {
		d.errf(n, "rule %q checks nothing: add one of %s", r.ID, kindList())
	}
	if dirNode != nil && r.Kind != "" && r.Kind != MaxBytesPerDestination && r.Kind != MaxBytesPerCountry {
		d.errf(dirNode, "direction applies to max_bytes_per_destination and max_bytes_per_country only")
	}
	if countryNode != nil && r.Kind != "" && r.Kind != AllowCountries && r.Kind != DenyCountries && r.Kind != MaxBytesPerCountry {
		d.errf(countryNode, "country applies to allow_countries, deny_countries and max_bytes_per_country only")
	}
	if r.CountryField == "" {
		r.CountryField = Located
	}
	if knownNode != nil && r.Kind != "" && r.Kind != DenyIdentifiers && r.Kind != DenyPlaintextIdentifiers {
		d.errf(knownNode, "known applies to deny_identifiers and deny_plaintext_identifiers only")
	}
	if r.Direction == "" {
		r.Direction = Up
	}
	if len(d.errs) > before {
		return nil
	}
	return r
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

// params decodes the value of a rule's kind key.
func (d *decoder) params(r *Rule, v *yaml.Node) {
	switch r.Kind {
	case AllowCountries, DenyCountries:
		d.list(v, func(it *yaml.Node) {
			c, ok := countryCode(it.Value)
			if !ok {
				d.errf(it, "country %q: want an ISO 3166 alpha-2 code such as CN, or anycast", it.Value)
				return
			}
			r.Countries = append(r.Countries, c)
		})
	case AllowASNs, DenyASNs:
		d.list(v, func(it *yaml.Node) {
			n, ok := parseASN(it.Value)
			if !ok {
				d.errf(it, "ASN %q: want a number such as 16509 or AS16509", it.Value)
				return
			}
			r.ASNs = append(r.ASNs, n)
		})
	case AllowDestinations, DenyDestinations:
		d.list(v, func(it *yaml.Node) {
			p, err := ParsePattern(it.Value)
			if err != nil {
				d.errf(it, "%v", err)
				return
			}
			r.Destinations = append(r.Destinations, p)
		})
	case DenyCategories:
		d.list(v, func(it *yaml.Node) {
			c := strings.ToLower(strings.TrimSpace(it.Value))
			if c == "" {
				d.errf(it, "empty category")
				return
			}
			r.pos["category:"+c] = d.pos(it)
			r.Categories = append(r.Categories, c)
		})
	case DenyIdentifiers, DenyPlaintextIdentifiers:
		d.list(v, func(it *yaml.Node) {
			c := strings.ToLower(strings.TrimSpace(it.Value))
			if c == "" {
				d.errf(it, "empty identifier type")
				return
			}
			r.pos["identifier:"+c] = d.pos(it)
			r.Identifiers = append(r.Identifiers, c)
		})
	case MinTLSVersion:
		s := d.str(v)
		ver, ok := ParseTLSVersion(s)
		if !ok && v.Kind == yaml.ScalarNode {
			d.errf(v, "TLS version %q: want 1.0, 1.1, 1.2 or 1.3 (quote it: \"1.2\")", s)
		}
		r.MinTLS = ver
	case DenyChannels:
		d.list(v, func(it *yaml.Node) {
			c := strings.TrimSpace(it.Value)
			if c == "" {
				d.errf(it, "empty channel")
				return
			}
			r.pos["channel:"+strings.ToLower(c)] = d.pos(it)
			r.Channels = append(r.Channels, c)
		})
	case MaxBytesPerDestination:
		r.MaxBytes = d.size(v)
	case MaxBytesPerCountry:
		if v.Kind != yaml.MappingNode {
			d.errf(v, "want a mapping of country code (or \"*\") to a size, e.g. {CN: 0, \"*\": 10MiB}")
			return
		}
		var star *CountryLimit
		d.fields(v, func(key string, k, val *yaml.Node) {
			n := d.size(val)
			if key == "*" {
				star = &CountryLimit{Country: "*", Bytes: n}
				return
			}
			c, ok := countryCode(key)
			if !ok {
				d.errf(k, "country %q: want an ISO 3166 alpha-2 code or \"*\"", key)
				return
			}
			r.CountryBytes = append(r.CountryBytes, CountryLimit{Country: c, Bytes: n})
		})
		if star != nil {
			r.CountryBytes = append(r.CountryBytes, *star)
		}
		if len(r.CountryBytes) == 0 && len(v.Content) == 0 {
			d.errf(v, "empty mapping")
		}
	case FailOn:
		r.Threshold = d.severity(v)
		if r.Threshold == audit.None && v.Kind == yaml.ScalarNode && strings.EqualFold(v.Value, "none") {
			d.errf(v, "fail_on none would fail on nothing: want info, low, medium, high or critical")
		}
	}
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
	if n.Kind != yaml.ScalarNode || d.nullish(n) {
		d.errf(n, "want a size such as 1048576, 64KiB or 10MB")
		return 0
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		d.errf(n, "%v", err)
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
