package strictyaml_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/policy"
	"github.com/phonehome/phonehome/pkg/signature"
)

var posRE = regexp.MustCompile(`f\.yaml:(\d+):(\d+): `)

// TestCorpusYAMLAsConfig hands the corpus's real YAML files (none of them a
// phonehome file) to every loader: each refuses every one, every error line
// carries a position inside the file, and a file with several mistakes gets
// several errors, not only the first.
func TestCorpusYAMLAsConfig(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("shared corpus not found (../shared/corpus or $PHONEHOME_CORPUS)")
	}
	var files []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no YAML files in the corpus")
	}
	loaders := []struct {
		name string
		load func([]byte) error
	}{
		{"policy", func(b []byte) error { _, err := policy.Parse("f.yaml", b); return err }},
		{"ignore", func(b []byte) error { _, err := policy.ParseIgnore("f.yaml", b); return err }},
		{"devices", func(b []byte) error { _, err := lab.Parse("f.yaml", b); return err }},
		{"keys", func(b []byte) error { _, err := leak.ParseKeys("f.yaml", b); return err }},
		{"signatures", func(b []byte) error { _, err := signature.ParseFile("f.yaml", b); return err }},
	}
	for _, l := range loaders {
		errs, several := 0, 0
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			lerr := l.load(data)
			if lerr == nil {
				t.Errorf("%s: %s loaded as a %s file", p, l.name, l.name)
				continue
			}
			lines := strings.Split(lerr.Error(), "\n")
			errs += len(lines)
			if len(lines) > 1 {
				several++
			}
			n := strings.Count(string(data), "\n") + 1
			for _, line := range lines {
				m := posRE.FindStringSubmatch(line)
				if m == nil {
					t.Errorf("%s as %s: error without position: %q", p, l.name, line)
					continue
				}
				if ln, _ := strconv.Atoi(m[1]); ln < 1 || ln > n {
					t.Errorf("%s as %s: line %d outside the file: %q", p, l.name, ln, line)
				}
			}
		}
		if several == 0 {
			t.Errorf("%s: no file got more than one error", l.name)
		}
		t.Logf("%s: %d files refused with %d positioned errors (%d files with several)", l.name, len(files), errs, several)
	}
}
