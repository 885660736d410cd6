package leak

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/internal/strictyaml"
	"github.com/phonehome/phonehome/pkg/audit"
)

//go:embed keys.yaml
var defaultKeys []byte

// ErrKeys is wrapped by errors about a key-name file.
var ErrKeys = errors.New("leak: invalid key file")

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
		b, err := readCapped(p)
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

// MaxKeyFileSize caps a key-name file.
const MaxKeyFileSize = 4 << 20

// readCapped reads at most one byte more than MaxKeyFileSize (add refuses it).
func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
}

// add decodes a key file strictly ("classes:" mapping class names to lists
// of key names) and adds its keys; every problem of the file is reported,
// and nothing is added from a file with problems.
func (k *Keys) add(name string, b []byte) error {
	if len(b) > MaxKeyFileSize {
		return fmt.Errorf("%w: %s: larger than %d bytes", ErrKeys, name, MaxKeyFileSize)
	}
	var d strictyaml.Decoder
	add := map[string]string{}
	if root := d.Parse(b); root != nil {
		d.Fields(root, "a mapping with key \"classes\"", func(key string, kn, cl *yaml.Node) {
			if key != "classes" {
				d.Errf(kn, "unknown key %q (want classes)", key)
				return
			}
			d.Fields(cl, "classes as a mapping of a class to a list of key names", func(class string, c, list *yaml.Node) {
				if !validClass(class) {
					d.Errf(c, "unknown class %q (want one of %s)", class, strings.Join(classNames, ", "))
					return
				}
				d.List(list, "class "+class+": key names", func(n *yaml.Node) {
					nk := normKey(n.Value)
					if nk == "" {
						d.Errf(n, "empty key name")
						return
					}
					add[nk] = class
				})
			})
		})
	}
	if probs := d.Problems(); len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = fmt.Errorf("%w: %s:%d:%d: %s", ErrKeys, name, p.Line, p.Col, p.Msg)
		}
		return errors.Join(errs...)
	}
	for nk, class := range add { // a key under two classes keeps the last, as before
		k.m[nk] = class
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
