package leak

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/pkg/audit"
)

//go:embed keys.yaml
var defaultKeys []byte

// ErrKeys is wrapped by errors about a key-name file.
var ErrKeys = errors.New("leak: invalid key file")

// Identifiers returns the identifier names leaks are reported under, in
// documentation order (audit.ReportedIdentifiers: the key classes, with
// latitude and longitude halves reported together as gps, and basic_auth,
// found by its header).
func Identifiers() []string { return audit.ReportedIdentifiers() }

// classNames are the identifier classes a key can name (audit's identifier
// table); each has a validator in detect.go.
var classNames = audit.KeyClasses()

// Keys maps normalised key names to identifier classes.
type Keys struct {
	m map[string]string
}

// LoadKeys returns the embedded key list extended by each file in paths.
func LoadKeys(paths ...string) (*Keys, error) {
	k := &Keys{m: map[string]string{}}
	if err := k.add("keys.yaml (embedded)", defaultKeys); err != nil {
		return nil, err
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("leak: keys: %w", err)
		}
		if err := k.add(p, b); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// ParseKeys is LoadKeys for one file held in memory (no embedded list).
func ParseKeys(name string, b []byte) (*Keys, error) {
	k := &Keys{m: map[string]string{}}
	return k, k.add(name, b)
}

func (k *Keys) add(name string, b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrKeys, name, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	errf := func(n *yaml.Node, f string, a ...any) error {
		return fmt.Errorf("%w: %s:%d:%d: %s", ErrKeys, name, n.Line, n.Column, fmt.Sprintf(f, a...))
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return errf(root, "want a mapping with key \"classes\"")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "classes" {
			return errf(root.Content[i], "unknown key %q", root.Content[i].Value)
		}
		cl := root.Content[i+1]
		if cl.Kind != yaml.MappingNode {
			return errf(cl, "classes must map a class to a list of key names")
		}
		for j := 0; j+1 < len(cl.Content); j += 2 {
			c, list := cl.Content[j], cl.Content[j+1]
			if !validClass(c.Value) {
				return errf(c, "unknown class %q (want one of %s)", c.Value, strings.Join(classNames, ", "))
			}
			if list.Kind != yaml.SequenceNode {
				return errf(list, "class %s: want a list of key names", c.Value)
			}
			for _, n := range list.Content {
				if n.Kind != yaml.ScalarNode {
					return errf(n, "key names must be strings")
				}
				nk := normKey(n.Value)
				if nk == "" {
					return errf(n, "empty key name")
				}
				k.m[nk] = c.Value
			}
		}
	}
	return nil
}

func validClass(c string) bool {
	id, ok := audit.LookupIdentifier(c)
	return ok && id.Key
}

// Class returns the identifier class for a key name, or "".
func (k *Keys) Class(key string) string {
	return k.classOf([]byte(key))
}

// classOf is Class without allocating.
func (k *Keys) classOf(key []byte) string {
	if k == nil || len(key) == 0 || len(key) > 64 {
		return ""
	}
	var buf [64]byte
	n := 0
	for _, c := range key {
		switch {
		case c >= 'A' && c <= 'Z':
			buf[n] = c + 32
			n++
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			buf[n] = c
			n++
		}
	}
	return k.m[string(buf[:n])]
}

// Names returns the normalised key names of a class, sorted.
func (k *Keys) Names(class string) []string {
	var out []string
	for n, c := range k.m {
		if c == class {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// normKey lower-cases and drops separators: "$identity_Android-ID" → "identityandroidid".
func normKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 32)
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}
