package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/batch"
	"github.com/phonehome/phonehome/pkg/engine"
	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/report"
	"github.com/phonehome/phonehome/pkg/report/parquet"
)

// formatParquet is --format parquet: six tables in an output directory
// (pkg/report/parquet), not a report.Write format.
const formatParquet = "parquet"

func batchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "per-file", Usage: "analyse every capture on its own (directories walked recursively); with -o DIR: one report per capture plus an index, and a run started again skips captures already done (docs/scale.md)"},
		&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, DefaultText: "the CPU count, or the container's CPU limit", Usage: "with --per-file: captures analysed at once; --max-memory is divided among them"},
		&cli.StringFlag{Name: "shard", Usage: "with --per-file: only the captures of shard `I/N` (by content hash; e.g. $JOB_COMPLETION_INDEX/8 in a Kubernetes Indexed Job)"},
	}
}

// runBatch is analyze with --per-file, or with --format parquet.
func runBatch(c *cli.Context) error {
	perFile := c.Bool("per-file")
	format := strings.ToLower(c.String("format"))
	out := c.String("output")
	switch {
	case c.NArg() == 0:
		return usageErr("no capture given (see --help)")
	case !perFile && (c.IsSet("jobs") || c.IsSet("shard")):
		return usageErr("--jobs and --shard need --per-file")
	case format == formatParquet && (out == "" || out == "-"):
		return usageErr("--format parquet writes a directory of tables: give -o DIR")
	case perFile && (out == "" || out == "-") && format != "ndjson":
		return usageErr("--per-file writes one report per capture: give -o DIR (or --format ndjson for one stream of records tagged with their capture)")
	case c.Int("jobs") < 0:
		return usageErr("--jobs: want a positive number")
	}
	if !perFile {
		if slices.Contains(c.Args().Slice(), "-") {
			return usageErr("--format parquet names its files by the hash of the capture: give a file, not standard input")
		}
		return runParquetOnce(c)
	}
	shard, err := batch.ParseShard(cmp.Or(c.String("shard"), "0/1"))
	if err != nil {
		return usageErr("--shard: %v", err)
	}
	jobs := c.Int("jobs")
	if jobs == 0 {
		jobs = runtime.GOMAXPROCS(0) // the CPU count, or the container's CPU limit (Go 1.25+)
	}
	b := &batchRun{c: c, format: format, dir: out, shard: shard, jobs: jobs}
	return b.run()
}

// batchRun is one --per-file run.
type batchRun struct {
	c      *cli.Context
	format string
	dir    string // "" or "-": tagged ndjson on standard output
	shard  batch.Shard
	jobs   int
	cfg    engine.Config
	store  batch.Store
	opt    report.Options
	flt    report.Filter
}

func (b *batchRun) toDir() bool { return b.dir != "" && b.dir != "-" }

func (b *batchRun) run() error {
	c := b.c
	// Flags and configuration first: a bad devices file must not wait for
	// every capture to be hashed.
	var err error
	if b.opt, b.flt, err = reportOptions(c, nil); err != nil {
		return err
	}
	b.opt.Color, b.opt.Width = false, 0
	if b.format != formatParquet {
		if err := report.Write(io.Discard, &audit.Report{}, b.opt); err != nil {
			return withCode(exitUsage, err) // bad --format, --table or --group-by
		}
	}
	if b.cfg, err = engineConfig(c); err != nil {
		return err
	}
	// One engine worker per job: --jobs sets the parallelism, and the
	// output cannot depend on it (flow caps are split per worker).
	b.cfg.Workers = 1
	b.limitMemory()

	var exclude []string
	if b.toDir() {
		exclude = append(exclude, b.dir)
	}
	caps, skipped, err := batch.Find(c.Args().Slice(), exclude, b.jobs)
	if err != nil {
		return withCode(exitUsage, err)
	}
	for _, s := range skipped {
		fmt.Fprintf(c.App.ErrWriter, "phonehome: warning: %s: skipped: %s\n", escape.Terminal(s.Path), escape.Terminal(s.Reason))
	}
	if len(caps) == 0 {
		return withCode(exitNothing, errors.New("no capture found in the inputs"))
	}
	todo, dups := batch.Plan(caps, b.shard)

	if b.toDir() {
		if err := os.MkdirAll(b.dir, 0o755); err != nil {
			return withCode(exitUsage, err) // an unwritable -o directory
		}
		b.store = batch.Store{Dir: b.dir, Kind: b.format}
	}

	results := make([]batch.Result, len(todo))
	var stream *orderedStream
	if !b.toDir() {
		stream = &orderedStream{w: c.App.Writer, done: make([]*os.File, len(todo))}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(b.jobs, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = b.one(c.Context, todo[i], stream, i)
			}
		}()
	}
feed:
	for i := range todo {
		select {
		case next <- i:
		case <-c.Context.Done():
			for j := i; j < len(todo); j++ {
				results[j] = batch.Result{Path: todo[j].Path, SHA256: todo[j].SHA256, Size: todo[j].Size, Status: batch.StatusIncomplete, ExitCode: exitIncomplete}
			}
			break feed
		}
	}
	close(next)
	wg.Wait()
	if stream != nil && stream.err != nil {
		return withCode(exitWrite, stream.err)
	}

	// The index: every capture of the shard, duplicates pointing at the
	// result of their first copy.
	idx := batch.Index{Shard: b.shard.String(), Format: b.format, Captures: results, Skipped: skipped}
	byHash := map[string]batch.Result{}
	for _, r := range results {
		byHash[r.SHA256] = r
	}
	for _, cp := range caps {
		if first, ok := dups[cp.Path]; ok {
			r := byHash[cp.SHA256]
			r.Path, r.Size, r.DuplicateOf, r.Resumed = cp.Path, cp.Size, first, false
			if r.Status == batch.StatusDone || r.Status == batch.StatusDamaged {
				r.Status = batch.StatusDuplicate
			}
			idx.Captures = append(idx.Captures, r)
		}
	}
	sortResults(idx.Captures)
	if idx.Skipped == nil {
		idx.Skipped = []batch.Skipped{}
	}
	worst := 0
	counts := map[string]int{}
	resumed := 0
	for _, r := range idx.Captures {
		counts[r.Status]++
		if r.Resumed {
			resumed++
		}
		worst = worstCode(worst, r.ExitCode)
	}
	if b.toDir() {
		if err := batch.WriteJSON(filepath.Join(b.dir, batch.IndexName(b.shard)), idx); err != nil {
			return withCode(exitWrite, err)
		}
	}
	var parts []string
	for _, s := range []string{batch.StatusDone, batch.StatusDamaged, batch.StatusUnreadable, batch.StatusWriteError, batch.StatusIncomplete, batch.StatusDuplicate} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	msg := fmt.Sprintf("phonehome: shard %s: %d of %d captures", b.shard, len(idx.Captures), len(caps))
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, ", ")
	}
	if resumed > 0 {
		msg += fmt.Sprintf(" (%d already complete before this run)", resumed)
	}
	if b.toDir() {
		msg += "; index " + filepath.Join(b.dir, batch.IndexName(b.shard))
	}
	fmt.Fprintln(c.App.ErrWriter, msg)
	switch {
	case counts[batch.StatusIncomplete] > 0 && worst == exitIncomplete:
		return withCode(exitIncomplete, errors.New("incomplete: the captures marked incomplete are redone when the run is started again"))
	case worst != 0:
		return withCode(worst, fmt.Errorf("some captures could not be analysed completely (see the index)"))
	}
	return nil
}

// limitMemory sets the Go runtime's soft limit for all jobs: --max-memory
// (or GOMEMLIMIT) is the whole process's budget, each job getting a
// share; without either, each job gets the single-run default.
func (b *batchRun) limitMemory() {
	if b.c.String("max-memory") != "" || os.Getenv("GOMEMLIMIT") != "" {
		if share := debug.SetMemoryLimit(-1) / int64(b.jobs); share < 96<<20 {
			fmt.Fprintf(b.c.App.ErrWriter, "phonehome: warning: %d MiB of memory per job is below what one analysis needs (~100 MiB); use fewer --jobs\n", share>>20)
		}
		return
	}
	if b.cfg.SpoolRecords || !b.cfg.KeepFlows && !b.cfg.KeepEvents {
		debug.SetMemoryLimit(int64(b.jobs) * defaultSoftMemory)
	}
}

// one analyses and writes one capture, or returns its stored result.
func (b *batchRun) one(ctx context.Context, cp batch.Capture, stream *orderedStream, i int) batch.Result {
	res := batch.Result{Path: cp.Path, SHA256: cp.SHA256, Size: cp.Size, Files: []string{}}
	if b.toDir() {
		if done, ok := b.store.Done(cp.SHA256); ok {
			done.Path, done.Size, done.Resumed = cp.Path, cp.Size, true
			return done
		}
	}
	if b.toDir() {
		b.removeTemps(cp.SHA256)
	}
	rep, err := engine.Run(ctx, b.cfg, []string{cp.Path})
	if rep != nil && rep.Records != nil {
		defer rep.Records.Close()
	}
	// The exit code is what analyze alone would exit with (runKind); the
	// status says what the index does with the capture.
	res.ExitCode = exitCode(withKind(runKind(rep, err), err))
	switch {
	case err == nil:
		res.Status = batch.StatusDone
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		res.Status, res.Error = batch.StatusIncomplete, "interrupted"
		if stream != nil {
			stream.skip(i)
		}
		return res
	case errors.Is(err, engine.ErrIncomplete):
		// Records lost to failing temporary files: the report is written
		// (marked incomplete) but not recorded as complete, so the next
		// run does the capture again.
		res.Status, res.Error = batch.StatusIncomplete, err.Error()
	case errors.Is(err, engine.ErrDamaged):
		res.Status, res.Error = batch.StatusDamaged, strings.TrimPrefix(err.Error(), "damaged input: ")
	case errors.Is(err, engine.ErrInput) || rep == nil:
		res.Status, res.Error = batch.StatusUnreadable, strings.TrimPrefix(err.Error(), "input error: ")
	default:
		res.Status, res.Error = batch.StatusIncomplete, err.Error()
	}
	if res.Error != "" {
		fmt.Fprintf(b.c.App.ErrWriter, "phonehome: %s: %s: %s\n", escape.Terminal(cp.Path), res.Status, escape.Terminal(res.Error))
	}
	if rep != nil {
		files, werr := b.write(rep, cp, stream, i)
		if werr != nil {
			res.Status, res.ExitCode, res.Error = batch.StatusWriteError, exitWrite, werr.Error()
			fmt.Fprintf(b.c.App.ErrWriter, "phonehome: %s: report not written: %v\n", escape.Terminal(cp.Path), werr)
			return res
		}
		res.Files = files
	} else if stream != nil {
		stream.skip(i)
	}
	// Unreadable captures are not recorded as complete: the cause may be
	// passing (an unmounted volume, permissions), and they fail fast.
	if b.toDir() && res.Status != batch.StatusIncomplete && res.Status != batch.StatusUnreadable {
		if err := b.store.Commit(res); err != nil {
			res.Status, res.ExitCode, res.Error = batch.StatusWriteError, exitWrite, err.Error()
		}
	}
	return res
}

// removeTemps removes the temporary files a killed run left for this
// capture. Only this shard writes results named by this hash, and an
// Indexed Job runs one pod per index at a time (podReplacementPolicy:
// Failed, docs/scale), so no one else is writing them.
func (b *batchRun) removeTemps(sha string) {
	dirs := []string{"reports", "done"}
	if b.format == formatParquet {
		dirs = append(dirs, parquet.Tables...)
	}
	for _, d := range dirs {
		tmps, _ := filepath.Glob(filepath.Join(b.dir, d, "."+sha+".*.tmp-*"))
		for _, t := range tmps {
			os.Remove(t)
		}
	}
}

// reportExt is the file extension of a report format.
var reportExt = map[string]string{"table": ".txt", "": ".txt", "json": ".json", "ndjson": ".ndjson", "csv": ".csv", "markdown": ".md", "html": ".html"}

// write writes the report of one capture; it returns the result files.
func (b *batchRun) write(rep *audit.Report, cp batch.Capture, stream *orderedStream, i int) ([]string, error) {
	rep = report.Apply(rep, b.flt)
	if b.format == formatParquet {
		return parquet.Write(b.dir, cp.SHA256, rep, parquet.Capture{Path: cp.Path, SHA256: cp.SHA256})
	}
	var f io.Writer
	var file *batch.File
	var tmp *os.File
	var err error
	rel := batch.ReportName(cp.SHA256, reportExt[b.format])
	if b.toDir() {
		if file, err = b.store.Create(rel); err != nil {
			return nil, err
		}
		defer file.Abort()
		f = file
	} else {
		if tmp, err = os.CreateTemp("", "phonehome-per-file-*.ndjson"); err != nil {
			return nil, err
		}
		os.Remove(tmp.Name()) // unlinked: gone whatever happens
		f = tmp
	}
	var w io.Writer = f
	var tw *tagWriter
	if b.format == "ndjson" {
		tw = newTagWriter(f, cp.Path, cp.SHA256)
		w = tw
	}
	err = report.Write(w, rep, b.opt)
	if err == nil && tw != nil {
		err = tw.Flush()
	}
	if err != nil {
		if tmp != nil {
			tmp.Close()
			stream.skip(i)
		}
		return nil, err
	}
	if tmp != nil {
		stream.put(i, tmp)
		return []string{}, nil
	}
	if err := file.Commit(); err != nil {
		return nil, err
	}
	return []string{rel}, nil
}

// tagWriter puts "capture_path" and "capture_sha256" first in every NDJSON
// record (each line is one JSON object).
type tagWriter struct {
	w      *bufio.Writer
	prefix []byte
	start  bool // at the start of a line
}

func newTagWriter(w io.Writer, path, sha string) *tagWriter {
	p, _ := jsonString(path)
	return &tagWriter{w: bufio.NewWriter(w), start: true,
		prefix: []byte(`{"capture_path":` + p + `,"capture_sha256":"` + sha + `",`)}
}

func (t *tagWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if t.start {
			if p[0] != '{' {
				return 0, errors.New("ndjson record does not start with {")
			}
			t.w.Write(t.prefix)
			p = p[1:]
			t.start = false
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.w.Write(p)
			break
		}
		t.w.Write(p[:i+1])
		p = p[i+1:]
		t.start = true
	}
	return n, nil
}

func (t *tagWriter) Flush() error { return t.w.Flush() }

func jsonString(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// orderedStream copies the captures' NDJSON to standard output in capture
// order, each as soon as it and all before it are done, whatever --jobs.
type orderedStream struct {
	mu   sync.Mutex
	w    io.Writer
	done []*os.File // finished, not yet copied
	gone []bool
	next int
	err  error
}

func (s *orderedStream) put(i int, f *os.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done[i] = f
	s.drain()
}

func (s *orderedStream) skip(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone == nil {
		s.gone = make([]bool, len(s.done))
	}
	s.gone[i] = true
	s.drain()
}

func (s *orderedStream) drain() {
	for s.next < len(s.done) {
		if f := s.done[s.next]; f != nil {
			if s.err == nil {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					s.err = err
				} else if _, err := io.Copy(s.w, f); err != nil {
					s.err = err
				}
			}
			f.Close()
			s.done[s.next] = nil
		} else if s.gone == nil || !s.gone[s.next] {
			return
		}
		s.next++
	}
}

// sortResults orders index lines by path.
func sortResults(rs []batch.Result) {
	slices.SortStableFunc(rs, func(a, b batch.Result) int { return strings.Compare(a.Path, b.Path) })
}

// runParquetOnce is --format parquet without --per-file: the inputs read
// as one recording, as every other format reads them, written as one file
// per table named by the recording's hash.
func runParquetOnce(c *cli.Context) error {
	rep, runErr := buildReport(c)
	if rep == nil {
		return runErr
	}
	if rep.Records != nil {
		defer rep.Records.Close()
	}
	var paths, hashes []string
	for _, in := range rep.Inputs {
		sha, _, err := batch.HashFile(in.Path)
		if err != nil {
			return withCode(exitWrite, err)
		}
		paths, hashes = append(paths, in.Path), append(hashes, sha)
	}
	tag := parquet.Capture{Path: strings.Join(paths, " + ")}
	if len(hashes) == 1 {
		tag.SHA256 = hashes[0]
	} else {
		h := sha256.Sum256([]byte(strings.Join(hashes, "\n")))
		tag.SHA256 = hex.EncodeToString(h[:])
	}
	_, flt, err := reportOptions(c, nil)
	if err != nil {
		return err
	}
	if _, err := parquet.Write(c.String("output"), tag.SHA256, report.Apply(rep, flt), tag); err != nil {
		return withCode(exitWrite, err)
	}
	return runErr
}
