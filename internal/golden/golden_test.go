package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Check reports.
type recorder struct {
	testing.TB
	errs  []string
	fatal bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(f string, a ...any) {
	r.errs = append(r.errs, strings.TrimSpace(sprintf(f, a...)))
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.fatal = true
	r.errs = append(r.errs, sprintf(f, a...))
}
func (r *recorder) Fatal(a ...any) { r.fatal = true }

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.golden")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, got string
		want      []string // substrings of the one error; nil: none
	}{
		{"same", "a\nb\nc\n", nil},
		{"changed line", "a\nB\nc\n", []string{"x.golden differs", "first difference at line 2 (got 4 lines, want 4)", `- "b"`, `+ "B"`, `  "a"`}},
		{"longer", "a\nb\nc\nd\n", []string{"first difference at line 4 (got 5 lines, want 4)", `+ "d"`}},
		{"missing final newline", "a\nb\nc", []string{"first difference at line 4 (got 3 lines, want 4)", `- ""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Check(r, path, []byte(tt.got))
			if tt.want == nil {
				if len(r.errs) != 0 {
					t.Errorf("errors %q", r.errs)
				}
				return
			}
			if len(r.errs) != 1 {
				t.Fatalf("errors %q, want one", r.errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.errs[0], w) {
					t.Errorf("error %q lacks %q", r.errs[0], w)
				}
			}
		})
	}
	r := &recorder{TB: t}
	Check(r, filepath.Join(dir, "missing.golden"), []byte("x"))
	if !r.fatal || !strings.Contains(r.errs[0], "-update writes it") {
		t.Errorf("missing golden file: %q", r.errs)
	}
}

func TestUpdateWrites(t *testing.T) {
	*update = true
	defer func() { *update = false }()
	path := filepath.Join(t.TempDir(), "sub", "x.json")
	JSON(t, path, map[string]int{"a": 1})
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "{\n  \"a\": 1\n}\n" {
		t.Errorf("written %q, %v", b, err)
	}
	if !Update() {
		t.Error("Update() false under -update")
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
