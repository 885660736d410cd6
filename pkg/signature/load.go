package signature

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/phonehome/phonehome/signatures"
)

// Caps on what one pack directory may hold.
const (
	maxFiles      = 10000
	maxTotalBytes = 256 << 20
)

// Pack is a directory of pack files in a file system. Name prefixes the
// paths shown in errors (e.g. "signatures" or the user's directory).
type Pack struct {
	FS   fs.FS
	Dir  string // directory inside FS, "." for its root
	Name string
}

// EmbeddedPack is the pack bundled in the binary (top-level signatures/).
func EmbeddedPack() Pack { return Pack{FS: signatures.FS, Dir: ".", Name: "signatures"} }

// DirPack is a pack directory (or a single YAML file) on disk.
func DirPack(dir string) (Pack, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Pack{}, fmt.Errorf("signature: %w", err)
	}
	if !st.IsDir() {
		return Pack{FS: os.DirFS(filepath.Dir(dir)), Dir: filepath.Base(dir), Name: filepath.Dir(dir)}, nil
	}
	return Pack{FS: os.DirFS(dir), Dir: ".", Name: dir}, nil
}

// LoadEmbedded compiles the bundled pack.
func LoadEmbedded() (*Set, error) { return LoadPacks(signatures.Version, EmbeddedPack()) }

// Load compiles the embedded pack plus user directories (or files), in
// order; later packs add services and override earlier ones: a service with
// the same ID is replaced, and an identical pattern in a user pack wins.
func Load(userDirs ...string) (*Set, error) {
	packs := []Pack{EmbeddedPack()}
	version := signatures.Version
	for _, d := range userDirs {
		p, err := DirPack(d)
		if err != nil {
			return nil, err
		}
		packs = append(packs, p)
		version += "+" + d
	}
	return LoadPacks(version, packs...)
}

// LoadPacks compiles packs in layer order (the first is layer 0). Schema
// errors fail the load; duplicates and ties do not (see Lint).
func LoadPacks(version string, packs ...Pack) (*Set, error) {
	files, errs := readPacks(packs)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return compile(version, files)
}

func readPacks(packs []Pack) ([]*File, []error) {
	var files []*File
	var errs []error
	for layer, p := range packs {
		fs, e := readPack(p, layer)
		files = append(files, fs...)
		errs = append(errs, e...)
	}
	return files, errs
}

func isPackFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// readPack parses every *.yaml/*.yml file below p.Dir, in lexical order.
func readPack(p Pack, layer int) ([]*File, []error) {
	var names []string
	st, err := fs.Stat(p.FS, p.Dir)
	if err != nil {
		return nil, []error{fmt.Errorf("signature: %s: %w", p.Name, err)}
	}
	if !st.IsDir() {
		names = []string{p.Dir}
	} else {
		err = fs.WalkDir(p.FS, p.Dir, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name != p.Dir && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
				return nil
			}
			if isPackFile(name) {
				if len(names) >= maxFiles {
					return fmt.Errorf("more than %d pack files", maxFiles)
				}
				names = append(names, name)
			}
			return nil
		})
		if err != nil {
			return nil, []error{fmt.Errorf("signature: %s: %w", p.Name, err)}
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, []error{fmt.Errorf("signature: %s: %w: no .yaml files", p.Name, ErrInvalid)}
	}
	var files []*File
	var errs []error
	total := 0
	for _, name := range names {
		shown := path.Join(filepath.ToSlash(p.Name), name)
		data, err := readCapped(p.FS, name)
		if err != nil {
			errs = append(errs, &Error{Pos: Pos{File: shown, Line: 1, Col: 1}, Msg: err.Error()})
			continue
		}
		if total += len(data); total > maxTotalBytes {
			errs = append(errs, &Error{Pos: Pos{File: shown, Line: 1, Col: 1}, Msg: fmt.Sprintf("pack larger than %d bytes", maxTotalBytes)})
			break
		}
		f, err := ParseFile(shown, data)
		if err != nil {
			errs = append(errs, unjoin(err)...)
			continue
		}
		f.Layer = layer
		for _, s := range f.Services {
			s.Layer = layer
		}
		files = append(files, f)
	}
	return files, errs
}

func readCapped(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("file larger than %d bytes", MaxFileSize)
	}
	return data, nil
}

func unjoin(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return []error{err}
}

// Errors returns the individual *Error values inside err (joined or not).
func Errors(err error) []*Error {
	var out []*Error
	for _, e := range unjoin(err) {
		var se *Error
		if errors.As(e, &se) {
			out = append(out, se)
		}
	}
	return out
}
