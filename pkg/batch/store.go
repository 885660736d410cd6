package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Result is what became of one capture: a line of the index, and the
// completion record a later run reads to skip the capture.
type Result struct {
	Path     string `json:"path"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Status   string `json:"status"`    // see the Status constants
	ExitCode int    `json:"exit_code"` // what `phonehome analyze` alone would have exited with
	// Files are the result files, relative to the output directory.
	Files []string `json:"files"`
	Error string   `json:"error,omitempty"`
	// Resumed is set in the index when the result was complete before this
	// run started (it is never stored in the completion record).
	Resumed bool `json:"resumed,omitempty"`
	// DuplicateOf is the path of the capture with the same bytes whose
	// result this is.
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

// Status values.
const (
	StatusDone       = "done"        // analysed and written
	StatusDamaged    = "damaged"     // damaged part-way; the report covers what was read
	StatusUnreadable = "unreadable"  // could not be read; no report
	StatusWriteError = "write-error" // the report could not be written
	StatusIncomplete = "incomplete"  // the run was interrupted; not stored, redone next time
	StatusDuplicate  = "duplicate"   // same bytes as another capture
)

// Store is an output directory of per-capture results. Every file appears
// under its final name only once complete (written to a temporary name in
// the same directory, then renamed); a capture's completion record, the
// last file written for it, is what makes it complete.
type Store struct {
	Dir string
	// Kind separates results of different output formats in one directory
	// (e.g. "json", "parquet"): a capture done in one is not done in another.
	Kind string
}

// donePath is the completion record of a capture.
func (s Store) donePath(sha string) string {
	return filepath.Join(s.Dir, "done", sha+"."+s.Kind+".json")
}

// Done returns the stored result of a capture, if it is complete.
func (s Store) Done(sha string) (Result, bool) {
	b, err := os.ReadFile(s.donePath(sha))
	if err != nil {
		return Result{}, false
	}
	var r Result
	if json.Unmarshal(b, &r) != nil || r.SHA256 != sha {
		return Result{}, false // a record this code did not write: redo
	}
	for _, f := range r.Files {
		if _, err := os.Stat(filepath.Join(s.Dir, filepath.FromSlash(f))); err != nil {
			return Result{}, false // a result file was removed since: redo
		}
	}
	return r, true
}

// Commit stores the completion record of r; call it after every file of
// r.Files is in place.
func (s Store) Commit(r Result) error {
	r.Resumed, r.DuplicateOf = false, ""
	return WriteJSON(s.donePath(r.SHA256), r)
}

// Create opens a temporary file that becomes rel (a slash-separated path
// below the store) on Commit.
func (s Store) Create(rel string) (*File, error) {
	return CreateFile(filepath.Join(s.Dir, filepath.FromSlash(rel)))
}

// File is written under a temporary name and renamed into place by Commit.
type File struct {
	*os.File
	final string
	done  bool
}

// CreateFile creates the directory of path and a temporary file beside
// path, hidden and not ending in the final extension, so that globs like
// *.parquet never see a partial file.
func CreateFile(path string) (*File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &File{File: f, final: path}, nil
}

// Commit syncs, closes and renames the file into place.
func (f *File) Commit() error {
	if f.done {
		return errors.New("batch: file committed twice")
	}
	f.done = true
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.final)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s: %w", f.final, err)
	}
	return nil
}

// Abort closes and removes the temporary file (a no-op after Commit).
func (f *File) Abort() {
	if !f.done {
		f.done = true
		f.Close()
		os.Remove(f.Name())
	}
}

// WriteJSON writes v, indented, to path through a temporary file.
func WriteJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	f, err := CreateFile(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// Index lists what a run (or one shard of it) did with every capture.
type Index struct {
	Shard    string    `json:"shard"`  // "I/N"
	Format   string    `json:"format"` // output format of the reports
	Captures []Result  `json:"captures"`
	Skipped  []Skipped `json:"skipped"` // files that are not captures
}

// IndexName is the index file of a shard: index.json for the whole set,
// index-I-of-N.json for a shard, so that the shards of one job never
// write the same file.
func IndexName(s Shard) string {
	if s.Whole() {
		return "index.json"
	}
	return fmt.Sprintf("index-%d-of-%d.json", s.I, s.n())
}

// ReportName is the result file of a capture with this hash: its content
// hash, with ext (".json", ".ndjson"...). Shards cannot collide on it:
// equal hashes land in the same shard.
func ReportName(sha, ext string) string { return "reports/" + sha + ext }

// IsTemp reports whether a file name is one of CreateFile's temporary names.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

// Temps lists temporary files left below dir by runs that were killed.
func Temps(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && IsTemp(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	return out
}
