// Command gen rebuilds pkg/oui/data/oui.bin.zst, the embedded IEEE MAC
// block registry (MA-L, MA-M, MA-S), from the npm package oui-data
// (BSD-2-Clause packaging of the public IEEE registry files). It runs `npm
// pack` (or reads a tarball given with -from) and `npm view` for the
// publication date unless -date is given.
//
//	go run ./internal/gen -version 2.1.9 -out data/oui.bin.zst
package main

import (
	"archive/tar"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/phonehome/phonehome/pkg/oui/internal/ouidata"
)

const pkg = "oui-data"

func main() {
	version := flag.String("version", "latest", "npm version of oui-data")
	from := flag.String("from", "", "directory holding oui-data-*.tgz (default: npm pack into a temp dir)")
	date := flag.String("date", "", "data date YYYY-MM-DD (default: the version's npm publication date)")
	out := flag.String("out", "data/oui.bin.zst", "output file")
	flag.Parse()
	if err := run(*version, *from, *date, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(version, from, date, out string) error {
	if from == "" {
		dir, err := os.MkdirTemp("", "oui-gen")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("npm", "pack", "--silent", pkg+"@"+version)
		cmd.Dir, cmd.Stderr = dir, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm pack: %w", err)
		}
		from = dir
	}
	index, ver, err := readTarball(from)
	if err != nil {
		return err
	}
	if date == "" {
		cmd := exec.Command("npm", "view", pkg+"@"+ver, "time", "--json")
		cmd.Stderr = os.Stderr
		b, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("npm view: %w (pass -date)", err)
		}
		var times map[string]string
		if err := json.Unmarshal(b, &times); err != nil || len(times[ver]) < 10 {
			return fmt.Errorf("npm view: no publication time for %s (pass -date)", ver)
		}
		date = times[ver][:10]
	}
	var raw map[string]string
	if err := json.Unmarshal(index, &raw); err != nil {
		return fmt.Errorf("index.json: %w", err)
	}
	t := &ouidata.Table{
		Meta: ouidata.Meta{
			Source:  "npm " + pkg + " " + ver + " (IEEE MA-L, MA-M, MA-S registries)",
			Version: date,
			License: "IEEE registry data; packaging BSD-2-Clause (oui-data)",
		},
		Names: []string{""},
	}
	nameIdx := map[string]uint32{}
	type row struct {
		p uint64
		n uint32
	}
	var rows [3][]row
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	blockOf := map[int]int{6: 0, 7: 1, 9: 2} // hex digits -> block
	for _, k := range keys {
		b, ok := blockOf[len(k)]
		if !ok {
			return fmt.Errorf("index.json: key %q has an unexpected length", k)
		}
		p, err := strconv.ParseUint(k, 16, 64)
		if err != nil {
			return fmt.Errorf("index.json: key %q: %w", k, err)
		}
		name, _, _ := strings.Cut(raw[k], "\n")
		name = strings.Join(strings.Fields(name), " ")
		if name == "" {
			continue
		}
		i, ok := nameIdx[name]
		if !ok {
			i = uint32(len(t.Names))
			nameIdx[name] = i
			t.Names = append(t.Names, name)
		}
		rows[b] = append(rows[b], row{p, i})
	}
	for b := range rows {
		slices.SortFunc(rows[b], func(x, y row) int { return cmp.Compare(x.p, y.p) })
		for _, r := range rows[b] {
			t.Blocks[b].Prefix = append(t.Blocks[b].Prefix, r.p)
			t.Blocks[b].Name = append(t.Blocks[b].Name, r.n)
		}
	}
	data, err := ouidata.Encode(t)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %s: %s %s (%s): %d MA-L, %d MA-M, %d MA-S, %d names, %d bytes\n",
		out, pkg, ver, date, len(rows[0]), len(rows[1]), len(rows[2]), len(t.Names)-1, len(data))
	return nil
}

func readTarball(dir string) ([]byte, string, error) {
	ms, _ := filepath.Glob(filepath.Join(dir, pkg+"-[0-9]*.tgz"))
	if len(ms) != 1 {
		return nil, "", fmt.Errorf("want exactly one %s-*.tgz in %s, found %d", pkg, dir, len(ms))
	}
	f, err := os.Open(ms[0])
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", err
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", err
		}
		if h.Typeflag == tar.TypeReg && strings.HasSuffix(h.Name, ".json") {
			b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
			if err != nil {
				return nil, "", err
			}
			files[strings.TrimPrefix(h.Name, "package/")] = b
		}
	}
	var pj struct{ Version string }
	if err := json.Unmarshal(files["package.json"], &pj); err != nil || pj.Version == "" {
		return nil, "", fmt.Errorf("%s: no version in package.json", ms[0])
	}
	if files["index.json"] == nil {
		return nil, "", fmt.Errorf("%s: no index.json", ms[0])
	}
	return files["index.json"], pj.Version, nil
}
