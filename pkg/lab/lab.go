// Package lab loads the --devices file: the lab's devices and the true
// identifiers each one holds, so that pkg/leak can search for them. The
// loader is strict about structure (unknown device keys are errors with
// file:line:col, and every problem of the file is reported, not only the
// first) and lenient about identifier names (any name is accepted and
// searched as an opaque string).
package lab

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/internal/strictyaml"
)

// ErrFormat is wrapped by every error about the content of a devices file.
var ErrFormat = errors.New("lab: invalid devices file")

// MaxFileSize caps the size of a devices file.
const MaxFileSize = 4 << 20

// File is a loaded devices file.
type File struct {
	Path    string
	Devices []Device
}

// Device is one lab device and its true identifiers, in file order.
type Device struct {
	ID, Name, MAC, Model, OS, Notes string
	IPs                             []string // from "ips:", canonical form
	Identifiers                     []Identifier
}

// Identifier is one known value. Type is the lower-case identifier name
// from the file (imei, phone, gps, or any other name). For gps, Value is
// "lat,lon" as written and Lat/Lon hold the coordinates.
type Identifier struct {
	Type, Value string
	Lat, Lon    float64
}

// descriptive lists device keys that are accepted and not searched.
var descriptive = map[string]bool{
	"model": true, "os": true, "notes": true, "vendor": true, "manufacturer": true,
	"firmware": true, "version": true, "description": true, "owner": true,
	"room": true, "location": true, "tags": true, "comment": true, "category": true,
}

// Load reads and validates the devices file at path.
func Load(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrFormat, path, MaxFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return Parse(path, b)
}

// Parse validates a devices file held in memory; name is used in errors.
// Every problem is reported (joined), each with name:line:col.
func Parse(name string, b []byte) (*File, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrFormat, name, MaxFileSize)
	}
	p := &parser{name: name}
	f := p.file(b)
	if probs := p.Problems(); len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, pr := range probs {
			errs[i] = fmt.Errorf("%w: %s:%d:%d: %s", ErrFormat, name, pr.Line, pr.Col, pr.Msg)
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// parser is the strict YAML decoder of one devices file.
type parser struct {
	strictyaml.Decoder
	name string
}

func (p *parser) file(b []byte) *File {
	root := p.Parse(b)
	if root == nil {
		if p.Len() == 0 {
			p.At(1, 1, "empty document")
		}
		return nil
	}
	f := &File{Path: p.name}
	var devs *yaml.Node
	if !p.Fields(root, "a mapping with key \"devices\" at the top level", func(key string, k, v *yaml.Node) {
		switch key {
		case "devices":
			devs = v
		case "version", "notes", "description":
		default:
			p.Errf(k, "unknown top-level key %q", key)
		}
	}) {
		return nil
	}
	if devs == nil {
		p.Errf(root, "missing key \"devices\"")
		return nil
	}
	seen := map[string]int{}
	p.Seq(devs, "\"devices\" as a list", func(dn *yaml.Node) {
		d, ok := p.device(dn)
		if d.ID != "" {
			if line, dup := seen[d.ID]; dup {
				p.Errf(dn, "duplicate device id %q (first on line %d)", d.ID, line)
				return
			}
			seen[d.ID] = dn.Line
		}
		if ok {
			f.Devices = append(f.Devices, d)
		}
	})
	return f
}

// scalar is an optional text value ("" for null).
func (p *parser) scalar(n *yaml.Node, what string) string {
	if !p.Kind(n, yaml.ScalarNode, what+" as a scalar") || strictyaml.Null(n) {
		return ""
	}
	return strings.TrimSpace(n.Value)
}

// device decodes one device; ok is false when it has problems.
func (p *parser) device(n *yaml.Node) (Device, bool) {
	var d Device
	before := p.Len()
	hasID := false
	if !p.Fields(n, "a device mapping", func(key string, k, v *yaml.Node) {
		switch key {
		case "id":
			hasID = true
			d.ID = p.scalar(v, "id")
		case "name":
			d.Name = p.scalar(v, "name")
		case "mac":
			if s := p.scalar(v, "mac"); s != "" {
				hw, err := net.ParseMAC(s)
				if err != nil || len(hw) != 6 {
					p.Errf(v, "mac %q is not a 48-bit MAC address", s)
					return
				}
				d.MAC = hw.String()
			}
		case "model":
			d.Model = p.scalar(v, "model")
		case "os":
			d.OS = p.scalar(v, "os")
		case "notes":
			d.Notes = p.scalar(v, "notes")
		case "ips":
			// Addresses the device uses: match it in captures without
			// link-layer addresses (raw IP, on-device VPN captures).
			p.Seq(v, "ips as a list of IP addresses", func(item *yaml.Node) {
				a, err := netip.ParseAddr(item.Value)
				if item.Kind != yaml.ScalarNode || err != nil {
					p.Errf(item, "%q is not an IP address", item.Value)
					return
				}
				d.IPs = append(d.IPs, a.String())
			})
		case "identifiers":
			d.Identifiers = p.identifiers(v)
		default:
			if !descriptive[key] {
				p.Errf(k, "unknown device key %q", key)
			}
		}
	}) {
		return d, false
	}
	if d.ID == "" {
		if hasID {
			p.Errf(n, "device with an empty id")
		} else {
			p.Errf(n, "device without id")
		}
	}
	return d, p.Len() == before
}

func (p *parser) identifiers(n *yaml.Node) []Identifier {
	var out []Identifier
	seen := map[string]bool{}
	p.Fields(n, "identifiers as a mapping of name to value", func(key string, k, v *yaml.Node) {
		name := strings.ToLower(strings.TrimSpace(key))
		if name == "" {
			p.Errf(k, "empty identifier name")
			return
		}
		if seen[name] {
			p.Errf(k, "duplicate identifier %q", name)
			return
		}
		seen[name] = true
		if v.Kind == yaml.MappingNode || name == "gps" {
			if id, ok := p.gps(name, v); ok {
				out = append(out, id)
			}
			return
		}
		if !p.Kind(v, yaml.ScalarNode, "identifier "+name+" as a scalar") {
			return
		}
		s := strings.TrimSpace(v.Value)
		if strictyaml.Null(v) || s == "" {
			p.Errf(v, "identifier %q has no value", name)
			return
		}
		out = append(out, Identifier{Type: name, Value: s})
	})
	return out
}

// gps accepts {lat: x, lon: y} (lng also) or a "lat,lon" string.
func (p *parser) gps(name string, v *yaml.Node) (Identifier, bool) {
	var ls, os string
	before := p.Len()
	switch v.Kind {
	case yaml.MappingNode:
		p.Fields(v, name, func(key string, k, x *yaml.Node) {
			s := p.scalar(x, name+"."+key)
			switch key {
			case "lat", "latitude":
				ls = s
			case "lon", "lng", "longitude":
				os = s
			default:
				p.Errf(k, "unknown %s key %q (want lat, lon)", name, key)
			}
		})
	case yaml.ScalarNode:
		a, b, ok := strings.Cut(v.Value, ",")
		if !ok {
			p.Errf(v, "%s must be {lat, lon} or \"lat,lon\"", name)
			return Identifier{}, false
		}
		ls, os = strings.TrimSpace(a), strings.TrimSpace(b)
	default:
		if p.Plain(v) {
			p.Errf(v, "%s must be {lat, lon}", name)
		}
		return Identifier{}, false
	}
	if p.Len() > before {
		return Identifier{}, false
	}
	lat, err1 := strconv.ParseFloat(ls, 64)
	lon, err2 := strconv.ParseFloat(os, 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		p.Errf(v, "%s needs lat in [-90,90] and lon in [-180,180]", name)
		return Identifier{}, false
	}
	return Identifier{Type: name, Value: ls + "," + os, Lat: lat, Lon: lon}, true
}
