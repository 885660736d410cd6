package engine

import (
	"cmp"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// worker is one shard of a run: the flow table of the flows hashed to it,
// their sessions and decoders (each session is its decoders' proto.Sink),
// its share of the device inventory, and its flow records and events. A
// worker is used by one goroutine at a time; the pool (parallel.go) merges
// the workers' results at the end.
type worker struct {
	cfg      Config
	table    *flow.Table
	specs    specList   // the decoders (protocols.go), this worker's own
	dnsCache *dns.Cache // shared by the workers of one goroutine
	scanner  *leak.Scanner
	inv      *inventory
	counter  map[string]uint64
	// scanned counts the bytes handed to the leak scanner (the counter
	// leak_scanned_bytes, added at the merge: a map update per Scan showed
	// on the per-packet path).
	scanned    uint64
	memo       *scanMemo     // inputs the scanner found nothing in (scanmemo.go)
	kept       *keptFlows    // flow records (not spooled; shared by the pool's workers, kept.go)
	shard      int           // this worker's index in the pool
	events     []audit.Event // events (not spooled)
	spools     *recordSpools // spooled records (SpoolRecords)
	frames     *frameIndex   // run-wide frame numbers to inputs (inputs.go)
	maxRecords int
	// maskSecrets masks credentials in an event (the run's, redact.go).
	maskSecrets func(audit.Event) audit.Event
	idle        session // End's session for flows that had none
	// freeSessions are sessions of ended flows, for new ones (sess).
	freeSessions []*session
	freeUnknown  []*unknownState   // their unknown-payload samples (release)
	eventCounts  map[string]uint64 // events by type: the counters "events_<type>", added at the merge
	keys         *keylog.Log       // the run's key log, shared (decrypt.go)
	doh          []dohAnswer       // addresses DoH answers listed (dohnames.go)
}

// countEvent counts one event of type typ: one map update by the type,
// the counter's name made at the merge (the DNS path runs it for every
// datagram).
func (w *worker) countEvent(typ string) { w.eventCounts[typ]++ }

// newWorker makes a worker whose table has the limits of cfg.Flow and
// whose name cache is cache (nil: its own).
func newWorker(cfg Config, httpLimits phttp.Limits, cache *dns.Cache) *worker {
	if cache == nil {
		cache = dns.NewCache(1 << 16)
	}
	w := &worker{cfg: cfg, counter: map[string]uint64{}, eventCounts: map[string]uint64{}, scanner: cfg.Scanner, dnsCache: cache,
		inv: newInventory(cfg.LAN, cfg.Known), maxRecords: cmp.Or(max(cfg.MaxRecords, 0), DefaultMaxRecords),
		specs: newSpecList(protocols(httpLimits)), memo: newScanMemo(), maskSecrets: func(ev audit.Event) audit.Event { return ev }}
	if cfg.KeepFlows && !cfg.SpoolRecords {
		w.kept = newKeptFlows(w.maxRecords) // newPool shares one among its workers
	}
	w.table = flow.NewTable(cfg.Flow, w)
	return w
}

// eventsWanted says whether protocol events are written (spooled) or kept.
func (w *worker) eventsWanted() bool {
	return w.spools != nil && w.spools.events != nil || w.cfg.KeepEvents
}

func (w *worker) event(s *session, ev audit.Event) {
	ev = w.maskSecrets(ev)
	w.countEvent(ev.Type)
	if w.spools != nil && w.spools.events != nil {
		g := ev.Frame
		restore := w.frames.localEvent(&ev)
		if err := w.spools.spoolEvent(s, ev, g); err != nil {
			w.counter["events_unencodable"]++
		}
		if restore != nil {
			restore()
		}
		return
	}
	if w.cfg.KeepEvents {
		if len(w.events) >= w.maxRecords {
			w.counter["events_dropped"]++
			return
		}
		w.events = append(w.events, ev)
	}
}

// addFinding notes a finding of the flow; repeats of a kind and message
// add to its count, and a flow keeps at most maxFlowLeaks rows.
func (s *session) addFinding(fi audit.Finding) {
	fi.Count = max(fi.Count, 1)
	for i := range s.findings {
		o := &s.findings[i]
		if o.Kind == fi.Kind && o.Message == fi.Message && o.Severity == fi.Severity {
			o.Count += fi.Count
			return
		}
	}
	if len(s.findings) >= maxFlowLeaks {
		s.w.counter["findings_dropped_flow_cap"]++
		return
	}
	s.findings = append(s.findings, fi)
}

// scan runs the leak scanner on one input of a flow.
func (w *worker) scan(s *session, in leak.Input, m proto.Meta) { w.scanCoded(s, in, m, nil) }

// scanCoded is scan for decoded content: coding lists the content codings
// undone before the scanner saw it (HTTP Content-Encoding), which lead
// each hit's encoding chain.
func (w *worker) scanCoded(s *session, in leak.Input, m proto.Meta, coding []string) {
	if w.scanner == nil || len(in.Data) == 0 {
		return
	}
	w.scanned += uint64(len(in.Data))
	if s.f.HasMAC {
		in.MACs = [2][6]byte{s.f.ClientMAC, s.f.ServerMAC} // 12 bare hex digits count as a MAC when they are the flow's (leak/linkmac.go)
	}
	var k uint64
	memo := w.memo != nil && len(in.Data) <= memoMaxInput
	if memo {
		var clean bool
		if k, clean = w.memo.clean(&in); clean {
			return
		}
	}
	found := false
	linked := w.scanner.ScanLinked(in, func(h leak.Hit) {
		found = true
		if len(s.leaks) >= maxFlowLeaks {
			w.counter["leaks_dropped_flow_cap"]++
			return
		}
		enc := strings.Join(append(coding[:len(coding):len(coding)], h.Encoding...), " > ")
		for i := range s.leaks {
			l := &s.leaks[i]
			if l.Identifier == h.Identifier && l.Location == h.Location && l.Encoding == enc && l.Value == h.Value {
				l.Count++
				l.Spellings = addSpellings(l.Spellings, h.Spellings)
				return
			}
		}
		s.leaks = append(s.leaks, audit.Leak{
			Identifier: h.Identifier, Known: h.Known, Value: h.Value,
			Encoding: enc, Location: h.Location,
			Frame: m.Frame, Time: m.Time.UTC(), Count: 1, Spellings: h.Spellings, Private: h.Private,
		})
	})
	if memo && !found && !linked { // a result that depended on the flow's MACs is not the input's alone
		w.memo.add(k, &in)
	}
}
