package strictyaml

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/internal/corpus"
)

// walk visits every node below n through the strict checks.
func walk(d *Decoder, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		d.Fields(n, "a mapping", func(_ string, _, v *yaml.Node) { walk(d, v) })
	case yaml.SequenceNode:
		d.Seq(n, "a list", func(it *yaml.Node) { walk(d, it) })
	}
}

// TestCorpusYAML decodes the YAML files of the shared corpus (test
// definitions other projects wrote, e.g. Suricata's test.yaml): the helper
// finds a syntax error exactly where yaml.v3 does, reports nothing else on
// these well-formed files (no repeated key, alias or second document), and
// every problem it would report is inside the file.
func TestCorpusYAML(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("shared corpus not found (../shared/corpus or $PHONEHOME_CORPUS)")
	}
	var files []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no YAML files in the corpus")
	}
	nodes := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(dir, p)
		var d Decoder
		root := d.Parse(data)
		var v any
		if uerr := yaml.Unmarshal(data, &v); (uerr != nil) != (root == nil && d.Len() > 0) {
			t.Errorf("%s: yaml.v3 says %v, the helper %v", name, uerr, d.Problems())
		}
		if root != nil {
			walk(&d, root)
			nodes += countNodes(root)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, pr := range d.Problems() {
			t.Errorf("%s:%s", name, pr)
			if pr.Line < 1 || pr.Line > lines {
				t.Errorf("%s: problem outside the file: %v", name, pr)
			}
		}
	}
	t.Logf("%d corpus YAML files, %d nodes, strict checks clean", len(files), nodes)
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}
