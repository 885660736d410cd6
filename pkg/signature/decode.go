package signature

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/internal/strictyaml"
)

// MaxFileSize caps one pack file; larger files are rejected unread.
const MaxFileSize = 8 << 20

// maxItems caps the list entries of one file, so a hostile file cannot make
// the compiled set arbitrarily large.
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
	d := &decoder{Decoder: strictyaml.Decoder{MaxItems: maxItems}, file: path}
	f := d.parse(data)
	if probs := d.Problems(); len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = &Error{Pos: Pos{File: path, Line: p.Line, Col: p.Col}, Msg: p.Msg}
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// decoder is the strict YAML decoder of one pack file.
type decoder struct {
	strictyaml.Decoder
	file string
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) parse(data []byte) *File {
	f := &File{Path: d.file}
	if len(data) > MaxFileSize {
		d.At(1, 1, "file larger than %d bytes", MaxFileSize)
		return f
	}
	root := d.Parse(data)
	if root == nil {
		if d.Len() == 0 {
			d.At(1, 1, "empty file: want a mapping with schema, vendor and services")
		}
		return f
	}
	var schema, vendor, services *yaml.Node
	if !d.Known(root, "pack file", map[string]**yaml.Node{
		"schema": &schema, "vendor": &vendor, "services": &services,
	}) {
		return f
	}
	if schema == nil {
		d.Errf(root, "missing key %q (want schema: %d)", "schema", SchemaVersion)
	} else if v, ok := d.Int(schema, "schema"); ok && v != SchemaVersion {
		d.Errf(schema, "unsupported schema %d (want %d)", v, SchemaVersion)
	}
	if vendor == nil {
		d.Errf(root, "missing key %q", "vendor")
	} else {
		f.Vendor = d.vendor(vendor)
	}
	if services == nil {
		d.Errf(root, "missing key %q", "services")
		return f
	}
	if d.Kind(services, yaml.SequenceNode, "a list of services") {
		if len(services.Content) == 0 {
			d.Errf(services, "services is empty")
		}
		d.Seq(services, "a list of services", func(n *yaml.Node) {
			if s := d.service(n); s != nil {
				s.Vendor, s.File = f.Vendor, d.file
				f.Services = append(f.Services, s)
			}
		})
	}
	return f
}

// str is String for an optional key (nil: absent, no problem).
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	if n == nil {
		return "", false
	}
	return d.String(n, what)
}

// list is List for an optional key.
func (d *decoder) list(n *yaml.Node, what string, fn func(s string, n *yaml.Node)) {
	if n == nil {
		return
	}
	d.List(n, what, func(it *yaml.Node) { fn(it.Value, it) })
}

func (d *decoder) vendor(n *yaml.Node) *Vendor {
	var id, name, country, website *yaml.Node
	if !d.Known(n, "vendor", map[string]**yaml.Node{"id": &id, "name": &name, "country": &country, "website": &website}) {
		return nil
	}
	v := &Vendor{Pos: d.pos(n)}
	d.required(n, id, "vendor", "id", &v.ID)
	if v.ID != "" && !idRE.MatchString(v.ID) {
		d.Errf(id, "vendor id %q: want kebab-case (a-z, 0-9, '-')", v.ID)
	}
	d.required(n, name, "vendor", "name", &v.Name)
	if d.required(n, country, "vendor", "country", &v.Country) && !validCountry(v.Country) {
		d.Errf(country, "country %q: want an ISO 3166-1 alpha-2 code in capitals, like CN or US", v.Country)
	}
	if website != nil {
		if s, ok := d.str(website, "website"); ok {
			if !validURL(s) {
				d.Errf(website, "website %q: want an http(s) URL", s)
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
		d.Errf(parent, "%s: missing key %q", what, key)
		return false
	}
	s, ok := d.str(n, what+" "+key)
	if ok && strings.TrimSpace(s) == "" {
		d.Errf(n, "%s %s is empty", what, key)
		return false
	}
	*dst = s
	return ok
}

func (d *decoder) service(n *yaml.Node) *Service {
	var id, name, category, description, severity, references *yaml.Node
	var domains, cidrs, asns, ports, ja3, ja4, certs, httpN, examples *yaml.Node
	if !d.Known(n, "service", map[string]**yaml.Node{
		"id": &id, "name": &name, "category": &category, "description": &description,
		"severity": &severity, "references": &references, "domains": &domains, "cidrs": &cidrs,
		"asns": &asns, "ports": &ports, "ja3": &ja3, "ja4": &ja4, "cert_subjects": &certs,
		"http": &httpN, "examples": &examples,
	}) {
		return nil
	}
	s := &Service{Pos: d.pos(n)}
	if d.required(n, id, "service", "id", &s.ID) && !idRE.MatchString(s.ID) {
		d.Errf(id, "service id %q: want kebab-case (a-z, 0-9, '-')", s.ID)
	}
	d.required(n, name, "service", "name", &s.Name)
	if d.required(n, category, "service", "category", &s.Category) && !validCategory(s.Category) {
		d.Errf(category, "unknown category %q (want one of %s)", s.Category, strings.Join(categories, ", "))
	}
	d.required(n, description, "service", "description", &s.Description)
	s.Description = strings.Join(strings.Fields(s.Description), " ")
	if severity != nil {
		if v, ok := d.str(severity, "severity"); ok {
			if !validSeverity(v) {
				d.Errf(severity, "severity %q: want info, low, medium, high or critical", v)
			}
			s.Severity = strings.ToLower(v)
		}
	}
	if references == nil {
		d.Errf(n, "service %q: missing key %q (every signature keeps the URL of its public source)", s.ID, "references")
	}
	d.list(references, "references", func(v string, it *yaml.Node) {
		if !validURL(v) {
			d.Errf(it, "reference %q: want an http(s) URL", v)
		}
		s.References = append(s.References, v)
	})
	if references != nil && len(s.References) == 0 && references.Kind == yaml.SequenceNode {
		d.Errf(references, "references is empty")
	}
	d.list(domains, "domains", func(v string, it *yaml.Node) {
		p, err := ParseDomainPattern(v)
		if err != nil {
			d.Errf(it, "%v", err)
			return
		}
		p.Pos = d.pos(it)
		s.Domains = append(s.Domains, p)
	})
	d.list(cidrs, "cidrs", func(v string, it *yaml.Node) {
		p, err := parseCIDR(v)
		if err != nil {
			d.Errf(it, "%v", err)
			return
		}
		s.CIDRs = append(s.CIDRs, CIDRPattern{Prefix: p, Pos: d.pos(it)})
	})
	d.list(asns, "asns", func(v string, it *yaml.Node) {
		a, err := parseASN(v)
		if err != nil {
			d.Errf(it, "%v", err)
			return
		}
		s.ASNs = append(s.ASNs, ASNPattern{ASN: a, Pos: d.pos(it)})
	})
	d.list(ports, "ports", func(v string, it *yaml.Node) {
		p, err := parsePort(v)
		if err != nil {
			d.Errf(it, "%v", err)
			return
		}
		p.Pos = d.pos(it)
		s.Ports = append(s.Ports, p)
	})
	d.list(ja3, "ja3", func(v string, it *yaml.Node) {
		v = strings.ToLower(v)
		if !isHex(v) || len(v) != 32 {
			d.Errf(it, "ja3 %q: want a 32-digit hex MD5", v)
			return
		}
		s.JA3 = append(s.JA3, StringPattern{Value: v, Pos: d.pos(it)})
	})
	d.list(ja4, "ja4", func(v string, it *yaml.Node) {
		if !validJA4(v) {
			d.Errf(it, "ja4 %q: want a fingerprint like t13d1516h2_8daaf6152771_e5627efa2ab1", v)
			return
		}
		s.JA4 = append(s.JA4, StringPattern{Value: v, Pos: d.pos(it)})
	})
	d.list(certs, "cert_subjects", func(v string, it *yaml.Node) {
		g, err := ParseGlob(v, true)
		if err != nil {
			d.Errf(it, "cert_subjects: %v", err)
			return
		}
		g.Pos = d.pos(it)
		s.CertSubjects = append(s.CertSubjects, g)
	})
	if httpN != nil {
		d.Seq(httpN, "http (a list of rules)", func(it *yaml.Node) {
			if r, ok := d.httpRule(it); ok {
				s.HTTP = append(s.HTTP, r)
			}
		})
	}
	if examples != nil {
		var must, mustNot *yaml.Node
		d.Known(examples, "examples", map[string]**yaml.Node{"match": &must, "no_match": &mustNot})
		d.list(must, "examples.match", func(v string, it *yaml.Node) {
			s.MustMatch = append(s.MustMatch, StringPattern{Value: v, Pos: d.pos(it)})
		})
		d.list(mustNot, "examples.no_match", func(v string, it *yaml.Node) {
			s.MustNotMatch = append(s.MustNotMatch, StringPattern{Value: v, Pos: d.pos(it)})
		})
	}
	if len(s.Domains)+len(s.CIDRs)+len(s.ASNs)+len(s.Ports)+len(s.JA3)+len(s.JA4)+len(s.CertSubjects)+len(s.HTTP) == 0 &&
		domains == nil && cidrs == nil && asns == nil && ports == nil && ja3 == nil && ja4 == nil && certs == nil && httpN == nil {
		d.Errf(n, "service %q has no matchers (domains, cidrs, asns, ports, ja3, ja4, cert_subjects or http)", s.ID)
	}
	return s
}

func (d *decoder) httpRule(n *yaml.Node) (HTTPRule, bool) {
	var host, path, ua *yaml.Node
	if !d.Known(n, "http rule", map[string]**yaml.Node{"host": &host, "path": &path, "user_agent": &ua}) {
		return HTTPRule{}, false
	}
	r := HTTPRule{Pos: d.pos(n)}
	ok := true
	if v, has := d.str(host, "http host"); has {
		p, err := ParseDomainPattern(v)
		if err != nil {
			d.Errf(host, "%v", err)
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
			d.Errf(path, "http path: %v", err)
			ok = false
		} else {
			g.Pos = d.pos(path)
			r.Path = &g
		}
	}
	if v, has := d.str(ua, "http user_agent"); has {
		g, err := ParseGlob(v, true)
		if err != nil {
			d.Errf(ua, "http user_agent: %v", err)
			ok = false
		} else {
			g.Pos = d.pos(ua)
			r.UserAgent = &g
		}
	}
	if ok && r.Host == nil && r.Path == nil && r.UserAgent == nil {
		d.Errf(n, "http rule needs at least one of host, path, user_agent")
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
