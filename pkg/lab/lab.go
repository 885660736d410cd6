// Package lab loads the --devices file: the lab's devices and the true
// identifiers each one holds, so that pkg/leak can search for them. The
// loader is strict about structure (unknown device keys are errors with
// file:line:col) and lenient about identifier names (any name is accepted
// and searched as an opaque string).
package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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
func Parse(name string, b []byte) (*File, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrFormat, name, MaxFileSize)
	}
	p := parser{name: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: empty document", ErrFormat, name)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, name, err)
	}
	if len(doc.Content) == 0 {
		return nil, p.errf(&doc, "empty document")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root, "top level must be a mapping with key \"devices\"")
	}
	f := &File{Path: name}
	var devs *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "devices":
			devs = v
		case "version", "notes", "description":
		default:
			return nil, p.errf(k, "unknown top-level key %q", k.Value)
		}
	}
	if devs == nil {
		return nil, p.errf(root, "missing key \"devices\"")
	}
	if devs.Kind != yaml.SequenceNode {
		return nil, p.errf(devs, "\"devices\" must be a list")
	}
	seen := map[string]bool{}
	for _, dn := range devs.Content {
		d, err := p.device(dn)
		if err != nil {
			return nil, err
		}
		if seen[d.ID] {
			return nil, p.errf(dn, "duplicate device id %q", d.ID)
		}
		seen[d.ID] = true
		f.Devices = append(f.Devices, d)
	}
	return f, nil
}

type parser struct{ name string }

func (p parser) errf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d:%d: %s", ErrFormat, p.name, n.Line, n.Column, fmt.Sprintf(format, args...))
}

func (p parser) scalar(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.errf(n, "%s must be a scalar", what)
	}
	if n.Tag == "!!null" {
		return "", nil
	}
	return strings.TrimSpace(n.Value), nil
}

func (p parser) device(n *yaml.Node) (Device, error) {
	var d Device
	if n.Kind != yaml.MappingNode {
		return d, p.errf(n, "device must be a mapping")
	}
	keys := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if keys[k.Value] {
			return d, p.errf(k, "duplicate key %q", k.Value)
		}
		keys[k.Value] = true
		var err error
		switch k.Value {
		case "id":
			d.ID, err = p.scalar(v, "id")
		case "name":
			d.Name, err = p.scalar(v, "name")
		case "mac":
			var s string
			if s, err = p.scalar(v, "mac"); err == nil && s != "" {
				hw, perr := net.ParseMAC(s)
				if perr != nil || len(hw) != 6 {
					return d, p.errf(v, "mac %q is not a 48-bit MAC address", s)
				}
				d.MAC = hw.String()
			}
		case "model":
			d.Model, err = p.scalar(v, "model")
		case "os":
			d.OS, err = p.scalar(v, "os")
		case "notes":
			d.Notes, err = p.scalar(v, "notes")
		case "ips":
			// Addresses the device uses: match it in captures without
			// link-layer addresses (raw IP, on-device VPN captures).
			if v.Kind != yaml.SequenceNode {
				return d, p.errf(v, "ips must be a list of IP addresses")
			}
			for _, item := range v.Content {
				a, perr := netip.ParseAddr(item.Value)
				if item.Kind != yaml.ScalarNode || perr != nil {
					return d, p.errf(item, "%q is not an IP address", item.Value)
				}
				d.IPs = append(d.IPs, a.String())
			}
		case "identifiers":
			d.Identifiers, err = p.identifiers(v)
		default:
			if !descriptive[k.Value] {
				return d, p.errf(k, "unknown device key %q", k.Value)
			}
		}
		if err != nil {
			return d, err
		}
	}
	if d.ID == "" {
		return d, p.errf(n, "device without id")
	}
	return d, nil
}

func (p parser) identifiers(n *yaml.Node) ([]Identifier, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "identifiers must be a mapping of name to value")
	}
	var out []Identifier
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := strings.ToLower(strings.TrimSpace(k.Value))
		if name == "" {
			return nil, p.errf(k, "empty identifier name")
		}
		if seen[name] {
			return nil, p.errf(k, "duplicate identifier %q", name)
		}
		seen[name] = true
		if v.Kind == yaml.MappingNode || name == "gps" {
			id, err := p.gps(name, v)
			if err != nil {
				return nil, err
			}
			out = append(out, id)
			continue
		}
		s, err := p.scalar(v, "identifier "+name)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, p.errf(v, "identifier %q has no value", name)
		}
		out = append(out, Identifier{Type: name, Value: s})
	}
	return out, nil
}

// gps accepts {lat: x, lon: y} (lng also) or a "lat,lon" string.
func (p parser) gps(name string, v *yaml.Node) (Identifier, error) {
	var ls, os string
	switch v.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, x := v.Content[i], v.Content[i+1]
			s, err := p.scalar(x, name+"."+k.Value)
			if err != nil {
				return Identifier{}, err
			}
			switch k.Value {
			case "lat", "latitude":
				ls = s
			case "lon", "lng", "longitude":
				os = s
			default:
				return Identifier{}, p.errf(k, "unknown %s key %q (want lat, lon)", name, k.Value)
			}
		}
	case yaml.ScalarNode:
		a, b, ok := strings.Cut(v.Value, ",")
		if !ok {
			return Identifier{}, p.errf(v, "%s must be {lat, lon} or \"lat,lon\"", name)
		}
		ls, os = strings.TrimSpace(a), strings.TrimSpace(b)
	default:
		return Identifier{}, p.errf(v, "%s must be {lat, lon}", name)
	}
	lat, err1 := strconv.ParseFloat(ls, 64)
	lon, err2 := strconv.ParseFloat(os, 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return Identifier{}, p.errf(v, "%s needs lat in [-90,90] and lon in [-180,180]", name)
	}
	return Identifier{Type: name, Value: ls + "," + os, Lat: lat, Lon: lon}, nil
}
