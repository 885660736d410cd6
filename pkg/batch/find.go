// Package batch plans per-file runs: it finds the captures among the
// given paths (directories walked recursively), names each by the SHA-256
// of its bytes, splits them into stable shards, and keeps the record of
// which captures already have a complete result in an output directory,
// so that an interrupted run started again redoes only what was in flight.
// It does not analyse anything; cmd/phonehome runs the engine per capture.
package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/phonehome/phonehome/pkg/capture"
)

// Capture is one capture file to analyse on its own.
type Capture struct {
	Path   string // as found: the argument, or the argument joined with the path below it
	SHA256 string // hex SHA-256 of the file's bytes (compressed bytes for .gz/.zst)
	Size   int64
}

// Skipped is a file that was not taken, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Find returns the captures among paths, sorted by path: files as given,
// directories walked recursively (symbolic links to directories are not
// followed). Files that are not captures (sniffed by content, as
// capture.Open does) are returned in skipped with the reason; so are
// directories in exclude (the output directory, when it lies inside an
// input directory). A path that does not exist is an error. Files are
// hashed by up to workers goroutines.
func Find(paths, exclude []string, workers int) (caps []Capture, skipped []Skipped, err error) {
	excl := map[string]bool{}
	for _, e := range exclude {
		if a, err := filepath.Abs(e); err == nil {
			excl[a] = true
		}
	}
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		if p == "-" {
			return nil, nil, errors.New("standard input cannot be analysed per file")
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !st.IsDir() {
			add(filepath.Clean(p))
			continue
		}
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				skipped = append(skipped, Skipped{Path: q, Reason: err.Error()})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if a, err := filepath.Abs(q); err == nil && excl[a] {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				add(q)
			} else if d.Type()&fs.ModeSymlink != 0 {
				if st, err := os.Stat(q); err == nil && st.Mode().IsRegular() {
					add(q)
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	slices.Sort(files)

	type result struct {
		c    Capture
		skip string
	}
	res := make([]result, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res[i].c, res[i].skip = examine(files[i])
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, r := range res {
		if r.skip != "" {
			skipped = append(skipped, Skipped{Path: r.c.Path, Reason: r.skip})
			continue
		}
		caps = append(caps, r.c)
	}
	slices.SortFunc(skipped, func(a, b Skipped) int { return strings.Compare(a.Path, b.Path) })
	return caps, skipped, nil
}

// examine sniffs and hashes one file; skip is why it is not a capture.
func examine(path string) (c Capture, skip string) {
	c.Path = path
	if why := capture.NotCapture(path); why != "" {
		return c, why
	}
	var err error
	c.SHA256, c.Size, err = HashFile(path)
	if err != nil {
		return c, err.Error()
	}
	return c, ""
}

// HashFile returns the hex SHA-256 of a file's bytes and its size.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
