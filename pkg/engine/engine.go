// Package engine wires the stages of one run: capture files are read frame
// by frame, decoded to transport packets, tracked in the flow table, their
// streams and datagrams decoded by protocol, and the results gathered into
// an audit.Report. It owns no CLI concerns; cmd/phonehome fills Config.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/capture"
	"github.com/phonehome/phonehome/pkg/enrich"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"github.com/phonehome/phonehome/pkg/signature"
	"github.com/phonehome/phonehome/pkg/spool"
)

// ErrInput marks input that could not be read at all (not a capture,
// missing file); the run produced no report.
var ErrInput = errors.New("input error")

// DefaultMaxRecords is the default of Config.MaxRecords: about 100 MB of
// flow records, less than that of events.
const DefaultMaxRecords = 250_000

// ErrDamaged marks a run where some input was damaged part-way; the report
// holds everything read before the damage.
var ErrDamaged = errors.New("damaged input")

// ErrIncomplete marks a run that lost records it read (temporary files
// failed beyond the memory fallback); the report lists the rest and is
// marked incomplete.
var ErrIncomplete = errors.New("records lost")

// Config is everything one run needs. Zero values are sensible defaults.
type Config struct {
	Flow flow.Config
	// KeepFlows keeps one record per flow in Report.Flows.
	KeepFlows bool
	// KeepEvents keeps decoded protocol events in Report.Events.
	KeepEvents bool
	// Workers is the number of goroutines flows are sharded over (0: one
	// per CPU, at most 8). Results do not depend on it.
	Workers int
	// SpoolRecords writes the flow records and events to temporary files
	// (in SpoolDir, default os.TempDir()) instead of keeping them in
	// memory: Report.Records then streams all of them, whatever their
	// number, and MaxRecords does not apply.
	SpoolRecords bool
	SpoolDir     string
	// SpoolBudget is the memory each worker's spool of each kind fills
	// before it writes a sorted run (0: 4 MiB).
	SpoolBudget int
	// MaxRecords bounds the flow records and the events kept (each);
	// beyond it they are counted and dropped (default DefaultMaxRecords).
	MaxRecords int
	// Progress, when set, is called about every 64k frames with the bytes
	// read so far in the current file and that file's size (0 if unknown).
	Progress func(file string, read, size int64)
	// ToolVersion is recorded in the report.
	ToolVersion string

	// Geo names the country and network owner of addresses (nil: none).
	Geo *geo.Resolver
	// Signatures name the vendor and purpose behind destinations (nil: none).
	Signatures *signature.Set
	// Known lists the lab devices and their true identifiers (--devices).
	Known []lab.Device
	// Scanner finds identifiers in decoded content (nil: no leak scan).
	Scanner *leak.Scanner
	// LAN adds prefixes that count as the lab's own network, beyond the
	// private, link-local, ULA and CGNAT ranges.
	LAN []netip.Prefix
	// HomeCountry is the lab's country (ISO code); traffic to other
	// countries counts as "abroad" in leak severities. Empty: not judged.
	HomeCountry string
	// ShowEvidence keeps full identifier values in the report; by default
	// they are masked.
	ShowEvidence bool
	// HTTP bounds the HTTP decoder (zero: its defaults).
	HTTP phttp.Limits
	// Capture bounds the capture reader: the longest record kept, the
	// largest zstd window (zero: its defaults).
	Capture capture.Options
	// SpoolFallback is the memory the spools may use together for runs
	// they cannot write to SpoolDir (0: spool.DefaultFallback; negative:
	// none, records are dropped at once).
	SpoolFallback int64

	// Keys holds the TLS secrets of the --keylog files (nil: none); the
	// secrets of pcapng Decryption Secrets Blocks are added to a copy per run.
	Keys *keylog.Log

	// InputWarnings are added to the report's warnings: the files
	// ExpandInputs skipped.
	InputWarnings []audit.Warning

	spoolFallback *spool.Fallback // shared by the workers' spools
}

// ExpandInputs turns the command-line arguments into a list of files. A
// file given by name is taken as it is (one that is not a capture fails
// later, clearly); a directory is walked recursively, its files in sorted
// path order, and the files in it that are not captures (sniffed by
// content) are left out and returned as skipped-file warnings, which Run
// adds to the report through Config.InputWarnings. "-" stands for standard
// input.
func ExpandInputs(args []string) (files []string, skipped []audit.Warning, err error) {
	for _, a := range args {
		if a == "-" {
			files = append(files, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = fmt.Errorf("%s: %v", a, pe.Err)
			}
			return nil, nil, fmt.Errorf("%w: %v", ErrInput, err)
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				skipped = append(skipped, audit.Warning{Code: "skipped-file", File: p, Message: p + ": " + err.Error()})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
			case d.Type().IsRegular():
				if why := capture.NotCapture(p); why != "" {
					skipped = append(skipped, audit.Warning{Code: "skipped-file", File: p, Message: p + ": skipped, " + why})
				} else {
					found = append(found, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrInput, err)
		}
		if len(found) == 0 {
			return nil, nil, fmt.Errorf("%w: %s: directory holds no capture files", ErrInput, a)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, skipped, nil
}

// Run analyses the inputs in order, as one capture: flows continue across
// files (rotated captures), frame numbers restart in each file as in
// Wireshark. It returns the report and, when something went wrong, an
// error wrapping ErrInput (no report) or ErrDamaged (partial report).
func Run(ctx context.Context, cfg Config, inputs []string) (*audit.Report, error) {
	e := newRun(cfg, len(inputs))
	defer e.pool.close() // on every path; finish closes it first on the others
	var damaged error
	for _, path := range inputs {
		if err := e.readFile(ctx, path); err != nil {
			var de *capture.DamageError
			switch {
			case errors.As(err, &de):
				e.warn(audit.Warning{Code: "damaged-input", Message: de.Error(), File: path, Offset: de.Offset, Frame: de.Frame})
				damaged = err
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
				e.report.Incomplete = true
				e.finish()
				return e.report, err
			default:
				return nil, fmt.Errorf("%w: %v", ErrInput, err)
			}
		}
	}
	e.finish()
	var errs []error
	if damaged != nil {
		e.report.Incomplete = true
		errs = append(errs, fmt.Errorf("%w: %v", ErrDamaged, damaged))
	}
	if e.lost != nil {
		errs = append(errs, fmt.Errorf("%w: %v", ErrIncomplete, e.lost))
	}
	if len(errs) > 0 {
		return e.report, errors.Join(errs...)
	}
	return e.report, nil
}

// newRun is the engine of a run of n inputs, its workers started.
func newRun(cfg Config, n int) *engine {
	if cfg.SpoolRecords {
		cfg.spoolFallback = spool.NewFallback(max(cmp.Or(cfg.SpoolFallback, spool.DefaultFallback), 0))
	}
	e := newEngine(cfg)
	e.dec = flow.NewDecoder()
	e.frames = &frameIndex{multi: n > 1}
	e.pool = newPool(cfg, workerCount(cfg), e.httpLimits, e.frames, e.maskSecrets)
	e.initDecryption()
	e.dec.OnARP = e.pool.lan.arp
	for _, w := range cfg.InputWarnings {
		e.warn(w)
	}
	return e
}

// engine is one run's coordinator: it reads the inputs, decodes frames to
// transport packets and hands them to the pool of workers (parallel.go),
// then merges the workers' results and hands them to the enrichment
// (enrich.go) that makes the report.
type engine struct {
	cfg        Config
	report     *audit.Report
	dec        *flow.Decoder
	pool       *pool
	frames     *frameIndex // run-wide frame numbers to inputs (inputs.go)
	frameBase  uint64      // frames of the inputs read before the current one
	scanner    *leak.Scanner
	httpLimits phttp.Limits
	maxRecords int
	// The workers' results, merged (mergeWorkers).
	kept    keptList // the flow records kept, in list order
	events  []audit.Event
	counter map[string]uint64
	inv     *inventory
	stats   flow.TableStats   // the workers' table counters, summed
	renamed map[string]string // device IDs given at the end, by provisional ID
	lost    error             // records could not all be kept (spool)
	// The run's key log (decrypt.go; nil: none) and Config.Keys' counts
	// before the pcapng secrets were added.
	keys      *keylog.Log
	keysGiven keylog.Stats
}

func newEngine(cfg Config) *engine {
	e := &engine{cfg: cfg, counter: map[string]uint64{}, scanner: cfg.Scanner}
	e.inv = newInventory(cfg.LAN, cfg.Known)
	e.httpLimits = cfg.HTTP
	e.maxRecords = cfg.MaxRecords
	if e.maxRecords <= 0 {
		e.maxRecords = DefaultMaxRecords
	}
	if e.httpLimits == (phttp.Limits{}) {
		e.httpLimits = phttp.DefaultLimits()
	}
	e.report = &audit.Report{
		SchemaVersion: audit.SchemaVersion,
		Tool:          audit.Tool{Name: "phonehome", Version: cfg.ToolVersion},
		Counters:      map[string]uint64{},
	}
	return e
}

func (e *engine) warn(w audit.Warning) { e.report.Warnings = append(e.report.Warnings, w) }

func (e *engine) readFile(ctx context.Context, path string) error {
	r, err := capture.OpenWith(path, e.cfg.Capture)
	if err != nil {
		return err
	}
	defer r.Close()
	var size int64
	if st, err := os.Stat(path); err == nil && path != "-" {
		size = st.Size()
	}
	in := audit.Input{Path: path, Format: r.Format()}
	base := e.frameBase
	e.frames.add(base, path)
	var fr capture.Frame
	var readErr error
	for {
		if err := r.Next(&fr); err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		if fr.N&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				readErr = err
				break
			}
			if e.cfg.Progress != nil {
				e.cfg.Progress(path, r.Offset(), size)
			}
		}
		if in.Frames == 0 || fr.CI.Timestamp.Before(in.First) {
			in.First = fr.CI.Timestamp
		}
		if fr.CI.Timestamp.After(in.Last) {
			in.Last = fr.CI.Timestamp
		}
		in.Frames++
		in.Bytes += uint64(fr.CI.Length)
		e.frameBase = max(e.frameBase, base+fr.N)
		e.dec.Decode(base+fr.N, fr.CI.Timestamp, fr.CI.Length, fr.CI.CaptureLength, fr.Link, fr.Data, e.pool.dispatch)
	}
	for _, lt := range r.LinkTypes() {
		in.LinkTypes = append(in.LinkTypes, linkName(lt))
	}
	if r.Backwards > 0 {
		e.warn(audit.Warning{Code: "time-backwards", File: path, Count: r.Backwards,
			Message: fmt.Sprintf("%s: %d frames have a timestamp earlier than the frame before", path, r.Backwards)})
	}
	if r.Timeless > 0 {
		e.warn(audit.Warning{Code: "time-invalid", File: path, Count: r.Timeless,
			Message: fmt.Sprintf("%s: %d frames have a timestamp after the year 9999 (corrupt); they are analysed as frames without a timestamp", path, r.Timeless)})
	}
	if cut := r.Cut(); cut.Records > 0 {
		e.counter["records_cut"] += cut.Records
		e.counter["record_bytes_skipped"] += cut.Skipped
		e.warn(audit.Warning{Code: "record-cap", File: path, Count: cut.Records,
			Message: fmt.Sprintf("%s: %d records were longer than %d bytes (--max-record-size; the longest claimed %d); each was cut there and the remaining %d bytes skipped", path, cut.Records, r.MaxRecord(), cut.Largest, cut.Skipped)})
	}
	if readErr != nil {
		in.Error = readErr.Error()
	}
	e.report.Inputs = append(e.report.Inputs, in)
	return readErr
}

func (e *engine) finish() {
	e.pool.close()
	e.pool.dropReading() // before the merge: it is the peak of the live heap
	e.mergeWorkers(e.pool)
	e.pool.dropTables()
	st := e.dec.Stats
	c := e.report.Counters
	c["frames"] = st.Frames
	c["frames_non_ip"] = st.NonIP
	c["frames_arp"] = st.ARP
	c["frames_malformed"] = st.Malformed
	c["frames_truncated"] = st.Truncated
	c["frames_unknown_link"] = st.UnknownLink
	c["frames_80211_encrypted"] = st.Encrypted80211
	c["ip_fragments"] = st.Fragments
	c["ip_reassembled"] = st.Reassembled
	c["ip_fragments_dropped"] = st.FragDropped
	c["tunnels"] = st.Tunnels
	c["decoder_panics"] = st.Panics
	ts := e.stats
	c["flows"] = ts.Flows
	c["flows_evicted"] = ts.Evicted
	c["flows_timed_out"] = ts.TimedOut
	c["tcp_retransmitted_segments"] = ts.Retransmitted
	c["tcp_out_of_order_segments"] = ts.OutOfOrder
	c["tcp_gap_bytes"] = ts.GapBytes
	c["tcp_buffer_cap_hits"] = ts.BufferDropped
	e.keyLogCounts()
	for k, v := range e.counter {
		c[k] = v
	}
	if ts.Evicted > 0 {
		e.warn(audit.Warning{Code: "flow-cap", Count: ts.Evicted,
			Message: fmt.Sprintf("%d flows were evicted because more than %d were live at once (--max-flows); their counts up to eviction are kept", ts.Evicted, cmp.Or(e.cfg.Flow.MaxFlows, flow.DefaultMaxFlows))})
	}
	if ts.BufferDropped > 0 {
		e.warn(audit.Warning{Code: "reassembly-buffer-cap", Count: ts.BufferDropped,
			Message: fmt.Sprintf("TCP reassembly gave up %d holes early because a buffer cap was reached (--max-buffer); %d bytes were skipped in all", ts.BufferDropped, ts.GapBytes)})
	}
	if n := e.counter["flow_records_dropped"]; n > 0 {
		e.warn(audit.Warning{Code: "flow-record-cap", Count: n,
			Message: fmt.Sprintf("only the first %d flow records are listed (--max-records); %d more flows are counted in devices and destinations but not listed", e.maxRecords, n)})
	}
	if n := e.counter["events_dropped"]; n > 0 {
		e.warn(audit.Warning{Code: "event-cap", Count: n,
			Message: fmt.Sprintf("only the first %d protocol events are kept (--max-records); %d more were decoded and used but not listed", e.maxRecords, n)})
	}
	if n := e.counter["http_body_truncated"]; n > 0 {
		e.warn(audit.Warning{Code: "http-body-cap", Count: n,
			Message: fmt.Sprintf("%d HTTP bodies were longer than %d bytes (--max-body); only that much of each was kept and scanned", n, e.httpLimits.MaxBody)})
	}
	if n := e.counter["http_body_decoded_limit"]; n > 0 {
		e.warn(audit.Warning{Code: "http-decoded-cap", Count: n,
			Message: fmt.Sprintf("%d compressed HTTP bodies inflated beyond %d bytes (4 x --max-body), %d of them at over 100:1 (decompression bombs); decoding stopped there", n, e.httpLimits.MaxDecoded, e.counter["http_body_bomb"])})
	}
	// The pending pairs become devices here: the caps they reach are
	// counted before the warnings below are written.
	aliases := e.inv.resolve(e.pool.lan, e.cfg.KeepFlows)
	e.kept.renameDevices(aliases)
	if !e.cfg.SpoolRecords {
		aliases = nil // the kept records have theirs; only spooled ones need them
	}
	var leaksCut, findingsCut uint64
	for _, d := range e.inv.devs {
		leaksCut += d.leaksDropped
		findingsCut += d.findingsDropped
	}
	c["leaks_dropped_device_cap"], c["findings_dropped_device_cap"] = leaksCut, findingsCut
	if leaksCut+findingsCut > 0 {
		e.warn(audit.Warning{Code: "device-row-cap", Count: leaksCut + findingsCut,
			Message: fmt.Sprintf("a device had more than %d distinct leak or finding rows; %d further leak and %d further finding occurrences were not listed", maxDeviceRows, leaksCut, findingsCut)})
	}
	if n := e.inv.overflow; n > 0 {
		e.warn(audit.Warning{Code: "device-cap", Count: n,
			Message: fmt.Sprintf("more than %d devices were seen; %d flows of further devices are counted under the device %q", maxDevices, n, otherDevices)})
	}
	if st.UnknownLink > 0 {
		e.warn(audit.Warning{Code: "unknown-link-type", Count: st.UnknownLink,
			Message: fmt.Sprintf("%d frames have a link type phonehome does not decode (the inputs' link types: %s); they were counted and not analysed", st.UnknownLink, e.inputLinks())})
	}
	if st.Panics > 0 {
		e.warn(audit.Warning{Code: "decoder-panic", Count: st.Panics, Message: fmt.Sprintf("%d frames made a layer decoder fail internally; they were skipped", st.Panics)})
	}
	if e.cfg.KeepEvents {
		e.report.Events = e.events
	}
	doh := e.nameFromDoH()
	masker := e.newMasker() // before buildDevices masks the leak values
	e.buildDevices()
	// The flow records are made only now: while the devices were built
	// they were still packed (kept.go).
	flows := e.kept.records(doh, e.renamed)
	if e.cfg.KeepFlows {
		e.report.Flows = flows
	}
	doh = doh.rekey(e.renamed)
	e.finishDecryption()
	enrich.MaskReport(e.report, masker)
	e.frames.localReport(e.report, e.report.Flows, e.report.Events)
	e.renamed = composeRenames(e.renamed, aliases)
	e.deviceWarnings()
	e.warnSpoolFallback()
	recs, err := newSpooledRecords(e.pool.workers, e.renamed, masker)
	if err != nil {
		// The records that could be kept are listed; the report says
		// that some are missing.
		e.warn(audit.Warning{Code: "spool-error", Message: "flow records and events were lost: " + strings.ReplaceAll(err.Error(), "\n", "; ")})
		e.report.Incomplete = true
		e.lost = err
	}
	if recs != nil {
		recs.doh = doh.spool()
		e.report.Records = recs
	}
	e.report.Summary.Devices = len(e.report.Devices)
	e.report.Summary.Flows = int(ts.Flows)
	e.report.Summary.Frames = st.Frames
	e.report.Summary.Warnings = len(e.report.Warnings)
}

// dropReading lets go, once the workers have stopped, what only reading
// the capture needed (about 20 MB on a large capture), before the end
// merges the workers and builds the report: the spare packet batches, the
// name caches and the decoders. What the end still reads (the workers'
// flow tables' counters, spools and events, the LAN evidence) stays.
func (pl *pool) dropReading() {
	for {
		select {
		case <-pl.free:
			continue
		default:
		}
		break
	}
	pl.cur = nil
	for _, gr := range pl.groups {
		gr.cache, gr.msg = nil, dns.Message{}
	}
	for _, w := range pl.workers {
		w.dnsCache, w.specs, w.idle = nil, specList{}, session{}
	}
}

// dropTables lets go of the workers' flow tables once their counters are
// merged.
func (pl *pool) dropTables() {
	for _, w := range pl.workers {
		w.table = nil
	}
}

// linkName is gopacket's name of a link type, or its number when gopacket
// has none ("LINKTYPE_147").
func linkName(lt layers.LinkType) string {
	if s := lt.String(); s != "UnknownLinkType" {
		return s
	}
	return fmt.Sprintf("LINKTYPE_%d", uint16(lt))
}

// warnSpoolFallback says when temporary files failed and records were
// kept in memory instead.
func (e *engine) warnSpoolFallback() {
	var first error
	var n int
	for _, w := range e.pool.workers {
		if w.spools == nil {
			continue
		}
		for _, s := range []*spool.Writer{w.spools.flows, w.spools.events} {
			if s != nil && s.FileError() != nil {
				n++
				first = cmp.Or(first, s.FileError())
			}
		}
	}
	if first != nil && e.cfg.SpoolFallback >= 0 {
		e.warn(audit.Warning{Code: "spool-fallback", Count: uint64(n),
			Message: fmt.Sprintf("temporary files for flow records and events failed (%v); records were kept in memory instead (up to %d MiB in all)", first, cmp.Or(e.cfg.SpoolFallback, spool.DefaultFallback)>>20)})
	}
}

// inputLinks lists the link types of all inputs, once each.
func (e *engine) inputLinks() string {
	var names []string
	for _, in := range e.report.Inputs {
		for _, l := range in.LinkTypes {
			if !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
	}
	return strings.Join(names, ", ")
}
