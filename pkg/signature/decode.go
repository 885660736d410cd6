package signature

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileSize caps one pack file; larger files are rejected unread.
const MaxFileSize = 8 << 20

// maxItems caps the entries of any one list, so a hostile file cannot make
// the compiled set arbitrarily large through one key.
const maxItems = 100000

// File is one decoded pack file.
type File struct {
	Path     string
	Layer    int
	Vendor   *Vendor
	Services []*Service
}

// ParseFile decodes one pack file strictly. Every problem found is
// returned (joined), each an *Error with file:line:col.
func ParseFile(path string, data []byte) (*File, error) {
	d := &decoder{file: path}
	f := d.parse(data)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return f, nil
}

type decoder struct {
	file string
	errs []error
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errf(n *yaml.Node, format string, a ...any) {
	if len(d.errs) >= 100 {
		return
	}
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, a...)})
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 syntax error ("yaml: line N: msg") into an
// *Error. yaml.v3 does not report the column, so the column is that of the
// first non-blank character of the line.
func (d *decoder) syntaxError(data []byte, err error) {
	msg := err.Error()
	line, col := 1, 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if isParserError(msg) {
			// yaml.v3 reports parser (not scanner) errors with a 0-based
			// line number; make it 1-based like everything else.
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
	d.errs = append(d.errs, &Error{Pos: Pos{File: d.file, Line: line, Col: col}, Msg: "YAML syntax: " + msg})
}

// parserMessages are the yaml.v3 parser errors (as opposed to scanner
// errors), whose line numbers it reports 0-based.
var parserMessages = []string{
	"did not find expected key", "did not find expected '-' indicator", "did not find expected node content",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected <document start>",
	"found duplicate %YAML directive", "found incompatible YAML document", "found undefined tag handle",
	"found duplicate %TAG directive",
}

func isParserError(msg string) bool {
	for _, p := range parserMessages {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func (d *decoder) parse(data []byte) *File {
	f := &File{Path: d.file}
	top := Pos{File: d.file, Line: 1, Col: 1}
	if len(data) > MaxFileSize {
		d.errs = append(d.errs, &Error{Pos: top, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileSize)})
		return f
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			d.errs = append(d.errs, &Error{Pos: top, Msg: "empty file: want a mapping with schema, vendor and services"})
			return f
		}
		d.syntaxError(data, err)
		return f
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errf(&extra, "more than one YAML document in a pack file")
	} else if err.Error() != "EOF" {
		d.syntaxError(data, err)
		return f
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	var schema, vendor, services *yaml.Node
	d.mapping(root, "pack file", map[string]**yaml.Node{
		"schema": &schema, "vendor": &vendor, "services": &services,
	})
	if len(d.errs) > 0 && root.Kind != yaml.MappingNode {
		return f
	}
	if schema == nil {
		d.errf(root, "missing key %q (want schema: %d)", "schema", SchemaVersion)
	} else if v, ok := d.integer(schema); ok && v != SchemaVersion {
		d.errf(schema, "unsupported schema %d (want %d)", v, SchemaVersion)
	}
	if vendor == nil {
		d.errf(root, "missing key %q", "vendor")
	} else {
		f.Vendor = d.vendor(vendor)
	}
	if services == nil {
		d.errf(root, "missing key %q", "services")
		return f
	}
	if d.kind(services, yaml.SequenceNode, "a list of services") {
		if len(services.Content) == 0 {
			d.errf(services, "services is empty")
		}
		for _, n := range services.Content {
			if s := d.service(n); s != nil {
				s.Vendor, s.File = f.Vendor, d.file
				f.Services = append(f.Services, s)
			}
		}
	}
	return f
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

func (d *decoder) kind(n *yaml.Node, k yaml.Kind, want string) bool {
	if n.Kind == yaml.AliasNode {
		d.errf(n, "aliases are not allowed in pack files")
		return false
	}
	if n.Kind != k {
		d.errf(n, "want %s, found %s", want, kindName(n.Kind))
		return false
	}
	return true
}

// mapping checks that n is a mapping whose keys are all in fields, with no
// key twice, and stores each value node.
func (d *decoder) mapping(n *yaml.Node, what string, fields map[string]**yaml.Node) {
	if !d.kind(n, yaml.MappingNode, what+" (a mapping)") {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errf(k, "%s: keys must be plain strings", what)
			continue
		}
		dst, ok := fields[k.Value]
		if !ok {
			d.errf(k, "unknown key %q in %s (want one of %s)", k.Value, what, keyList(fields))
			continue
		}
		if *dst != nil {
			d.errf(k, "key %q given twice in %s", k.Value, what)
			continue
		}
		*dst = v
	}
}

func keyList(fields map[string]**yaml.Node) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return strings.Join(keys, ", ")
}

func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	if n == nil {
		return "", false
	}
	if !d.kind(n, yaml.ScalarNode, what+" (a string)") {
		return "", false
	}
	if n.Tag == "!!null" {
		d.errf(n, "%s is empty", what)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) integer(n *yaml.Node) (int, bool) {
	if !d.kind(n, yaml.ScalarNode, "a number") {
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		d.errf(n, "want a number, found %q", n.Value)
		return 0, false
	}
	return v, true
}

// list calls fn for every scalar item of a list; a single scalar is
// accepted as a one-item list.
func (d *decoder) list(n *yaml.Node, what string, fn func(s string, n *yaml.Node)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		fn(n.Value, n)
		return
	}
	if !d.kind(n, yaml.SequenceNode, what+" (a list)") {
		return
	}
	if len(n.Content) > maxItems {
		d.errf(n, "%s has more than %d entries", what, maxItems)
		return
	}
	for _, it := range n.Content {
		if s, ok := d.str(it, what+" entry"); ok {
			fn(s, it)
		}
	}
}

func (d *decoder) vendor(n *yaml.Node) *Vendor {
	var id, name, country, website *yaml.Node
	d.mapping(n, "vendor", map[string]**yaml.Node{"id": &id, "name": &name, "country": &country, "website": &website})
	if n.Kind != yaml.MappingNode {
		return nil
	}
	v := &Vendor{Pos: d.pos(n)}
	d.required(n, id, "vendor", "id", &v.ID)
	if v.ID != "" && !idRE.MatchString(v.ID) {
		d.errf(id, "vendor id %q: want kebab-case (a-z, 0-9, '-')", v.ID)
	}
	d.required(n, name, "vendor", "name", &v.Name)
	if d.required(n, country, "vendor", "country", &v.Country) && !validCountry(v.Country) {
		d.errf(country, "country %q: want an ISO 3166-1 alpha-2 code in capitals, like CN or US", v.Country)
	}
	if website != nil {
		if s, ok := d.str(website, "website"); ok {
			if !validURL(s) {
				d.errf(website, "website %q: want an http(s) URL", s)
			}
			v.Website = s
		}
	}
	return v
}

func validCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func (d *decoder) required(parent, n *yaml.Node, what, key string, dst *string) bool {
	if n == nil {
		d.errf(parent, "%s: missing key %q", what, key)
		return false
	}
	s, ok := d.str(n, what+" "+key)
	if ok && strings.TrimSpace(s) == "" {
		d.errf(n, "%s %s is empty", what, key)
		return false
	}
	*dst = s
	return ok
}

func (d *decoder) service(n *yaml.Node) *Service {
	var id, name, category, description, severity, references *yaml.Node
	var domains, cidrs, asns, ports, ja3, ja4, certs, httpN, examples *yaml.Node
	d.mapping(n, "service", map[string]**yaml.Node{
		"id": &id, "name": &name, "category": &category, "description": &description,
		"severity": &severity, "references": &references, "domains": &domains, "cidrs": &cidrs,
		"asns": &asns, "ports": &ports, "ja3": &ja3, "ja4": &ja4, "cert_subjects": &certs,
		"http": &httpN, "examples": &examples,
	})
	if n.Kind != yaml.MappingNode {
		return nil
	}
	s := &Service{Pos: d.pos(n)}
	if d.required(n, id, "service", "id", &s.ID) && !idRE.MatchString(s.ID) {
		d.errf(id, "service id %q: want kebab-case (a-z, 0-9, '-')", s.ID)
	}
	d.required(n, name, "service", "name", &s.Name)
	if d.required(n, category, "service", "category", &s.Category) && !validCategory(s.Category) {
		d.errf(category, "unknown category %q (want one of %s)", s.Category, strings.Join(categories, ", "))
	}
	d.required(n, description, "service", "description", &s.Description)
	s.Description = strings.Join(strings.Fields(s.Description), " ")
	if severity != nil {
		if v, ok := d.str(severity, "severity"); ok {
			if !validSeverity(v) {
				d.errf(severity, "severity %q: want info, low, medium, high or critical", v)
			}
			s.Severity = strings.ToLower(v)
		}
	}
	if references == nil {
		d.errf(n, "service %q: missing key %q (every signature keeps the URL of its public source)", s.ID, "references")
	}
	d.list(references, "references", func(v string, it *yaml.Node) {
		if !validURL(v) {
			d.errf(it, "reference %q: want an http(s) URL", v)
		}
		s.References = append(s.References, v)
	})
	if references != nil && len(s.References) == 0 && references.Kind == yaml.SequenceNode {
		d.errf(references, "references is empty")
	}
	d.list(domains, "domains", func(v string, it *yaml.Node) {
		p, err := ParseDomainPattern(v)
		if err != nil {
			d.errf(it, "%v", err)
			return
		}
		p.Pos = d.pos(it)
		s.Domains = append(s.Domains, p)
	})
	d.list(cidrs, "cidrs", func(v string, it *yaml.Node) {
		p, err := parseCIDR(v)
		if err != nil {
			d.errf(it, "%v", err)
			return
		}
		s.CIDRs = append(s.CIDRs, CIDRPattern{Prefix: p, Pos: d.pos(it)})
	})
	d.list(asns, "asns", func(v string, it *yaml.Node) {
		a, err := parseASN(v)
		if err != nil {
			d.errf(it, "%v", err)
			return
		}
		s.ASNs = append(s.ASNs, ASNPattern{ASN: a, Pos: d.pos(it)})
	})
	d.list(ports, "ports", func(v string, it *yaml.Node) {
		p, err := parsePort(v)
		if err != nil {
			d.errf(it, "%v", err)
			return
		}
		p.Pos = d.pos(it)
		s.Ports = append(s.Ports, p)
	})
	d.list(ja3, "ja3", func(v string, it *yaml.Node) {
		v = strings.ToLower(v)
		if !isHex(v) || len(v) != 32 {
			d.errf(it, "ja3 %q: want a 32-digit hex MD5", v)
			return
		}
		s.JA3 = append(s.JA3, StringPattern{Value: v, Pos: d.pos(it)})
	})
	d.list(ja4, "ja4", func(v string, it *yaml.Node) {
		if !validJA4(v) {
			d.errf(it, "ja4 %q: want a fingerprint like t13d1516h2_8daaf6152771_e5627efa2ab1", v)
			return
		}
		s.JA4 = append(s.JA4, StringPattern{Value: v, Pos: d.pos(it)})
	})
	d.list(certs, "cert_subjects", func(v string, it *yaml.Node) {
		g, err := ParseGlob(v, true)
		if err != nil {
			d.errf(it, "cert_subjects: %v", err)
			return
		}
		g.Pos = d.pos(it)
		s.CertSubjects = append(s.CertSubjects, g)
	})
	if httpN != nil && d.kind(httpN, yaml.SequenceNode, "http (a list of rules)") {
		for _, it := range httpN.Content {
			if r, ok := d.httpRule(it); ok {
				s.HTTP = append(s.HTTP, r)
			}
		}
	}
	if examples != nil {
		var must, mustNot *yaml.Node
		d.mapping(examples, "examples", map[string]**yaml.Node{"match": &must, "no_match": &mustNot})
		d.list(must, "examples.match", func(v string, it *yaml.Node) {
			s.MustMatch = append(s.MustMatch, StringPattern{Value: v, Pos: d.pos(it)})
		})
		d.list(mustNot, "examples.no_match", func(v string, it *yaml.Node) {
			s.MustNotMatch = append(s.MustNotMatch, StringPattern{Value: v, Pos: d.pos(it)})
		})
	}
	if len(s.Domains)+len(s.CIDRs)+len(s.ASNs)+len(s.Ports)+len(s.JA3)+len(s.JA4)+len(s.CertSubjects)+len(s.HTTP) == 0 &&
		domains == nil && cidrs == nil && asns == nil && ports == nil && ja3 == nil && ja4 == nil && certs == nil && httpN == nil {
		d.errf(n, "service %q has no matchers (domains, cidrs, asns, ports, ja3, ja4, cert_subjects or http)", s.ID)
	}
	return s
}

func (d *decoder) httpRule(n *yaml.Node) (HTTPRule, bool) {
	var host, path, ua *yaml.Node
	d.mapping(n, "http rule", map[string]**yaml.Node{"host": &host, "path": &path, "user_agent": &ua})
	if n.Kind != yaml.MappingNode {
		return HTTPRule{}, false
	}
	r := HTTPRule{Pos: d.pos(n)}
	ok := true
	if v, has := d.str(host, "http host"); has {
		p, err := ParseDomainPattern(v)
		if err != nil {
			d.errf(host, "%v", err)
			ok = false
		} else {
			p.Pos = d.pos(host)
			r.Host = &p
		}
	}
	if v, has := d.str(path, "http path"); has {
		g, err := ParseGlob(v, false)
		if err == nil && g.re == nil && !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "*") {
			err = fmt.Errorf("want an absolute path starting with '/'")
		}
		if err != nil {
			d.errf(path, "http path: %v", err)
			ok = false
		} else {
			g.Pos = d.pos(path)
			r.Path = &g
		}
	}
	if v, has := d.str(ua, "http user_agent"); has {
		g, err := ParseGlob(v, true)
		if err != nil {
			d.errf(ua, "http user_agent: %v", err)
			ok = false
		} else {
			g.Pos = d.pos(ua)
			r.UserAgent = &g
		}
	}
	if ok && r.Host == nil && r.Path == nil && r.UserAgent == nil {
		d.errf(n, "http rule needs at least one of host, path, user_agent")
		ok = false
	}
	return r, ok
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// validJA4 checks the JA4 shape: a 10-character prefix, then two 12-digit
// hex hashes, separated by '_'.
func validJA4(s string) bool {
	a, rest, ok1 := strings.Cut(s, "_")
	b, c, ok2 := strings.Cut(rest, "_")
	return ok1 && ok2 && len(a) == 10 && len(b) == 12 && len(c) == 12 && isHex(b) && isHex(c) &&
		(a[0] == 't' || a[0] == 'q' || a[0] == 'd')
}
