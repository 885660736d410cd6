package leak

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/phonehome/phonehome/pkg/lab"
)

// ErrOptions is wrapped by NewScanner errors about its arguments.
var ErrOptions = errors.New("leak: invalid options")

// Options tunes a Scanner. Zero values take the documented defaults.
type Options struct {
	// Keys maps key names to identifier classes; nil uses LoadKeys().
	Keys *Keys
	// MaxDepth bounds nested decoding layers (default 4).
	MaxDepth int
	// MaxInput is the number of bytes of Input.Data scanned (default 1 MiB).
	MaxInput int
	// MaxDecoded bounds the bytes produced by decoding layers in one Scan
	// call, decompression included (default 4 MiB).
	MaxDecoded int
	// MaxLayers bounds the decoded layers in one Scan call (default 64).
	MaxLayers int
	// MaxHits bounds the hits of one Scan call (default 256).
	MaxHits int
	// PhoneRegions are tried, in order, for phone numbers written in a
	// national form under a telling key (default DE, GB, FR, IT, ES, NL,
	// US, CN, IN, BR, JP, RU).
	PhoneRegions []string
	// NoGeneric turns the generic detectors off (known values only).
	NoGeneric bool
}

// Input is one piece of a flow to scan.
type Input struct {
	// Location says where Data came from: "url.query", "url.path",
	// "header:Cookie", "body", "dns.qname", "mqtt.payload", "tcp.payload"...
	Location string
	Data     []byte
	// ContentType is the HTTP Content-Type (and, if known, the
	// Content-Encoding after a ';'), used as a hint for deflate bodies.
	ContentType string
	// Page is the web page the message was sent from (an HTTP request's
	// Referer), or "". What a page's scripts send about the page is the
	// web's ordinary tracking, not behavioural data the device reports:
	// the behavioural detectors skip such inputs (docs/leaks.md).
	Page string
	// MACs are the link-layer addresses of the flow's two ends (zero:
	// unknown): 12 hex digits are reported as a MAC only when they spell
	// one of them or an address next to one (linkmac.go).
	MACs [2][6]byte
}

// Hit is one identifier found in an Input.
type Hit struct {
	Identifier string   // imei, phone, email, gps... or the devices-file name
	Known      bool     // a --devices value (else a generic detector)
	DeviceID   string   // owner of a known value
	Value      string   // canonical full value (devices-file spelling, or normalised)
	Encoding   []string // outermost first, e.g. ["gzip", "base64", "plain"]
	Location   string   // refined: "url.query:imei", "body.json:$.device.imei"
	Offset     int      // byte offset in Input.Data of the hit or of the encoded blob holding it
	// Private is set on behavioural hits (IsBehaviour) when the same
	// input also carried a private-browsing flag (incognito=true).
	Private bool
	// Spellings are the exact texts that carried the value, outermost
	// first: the bytes of Input.Data (the value itself, or the encoded
	// blob holding it), then the text in each decoded layer down to the
	// value as written there. Binary layers (decompressed data) and texts
	// longer than MaxSpelling are left out. Reports mask these texts
	// wherever they appear (docs/leaks.md).
	Spellings []string
}

// MaxSpelling is the longest text kept in Hit.Spellings.
const MaxSpelling = 4096

type known struct {
	dev, typ, value string
	gps             bool
}

// Scanner searches payloads for known and generic identifiers. It is
// immutable after NewScanner and safe for concurrent use.
type Scanner struct {
	opt    Options
	keys   *Keys
	mcc    map[string]string
	values []known
	m      *matcher
	info   [][]pat
	xor    [maxXORKey]xorAuto
}

// NewScanner compiles every known value of devices into its searched forms.
func NewScanner(devices []lab.Device, opt Options) (*Scanner, error) {
	if opt.MaxDepth <= 0 {
		opt.MaxDepth = 4
	}
	if opt.MaxInput <= 0 {
		opt.MaxInput = 1 << 20
	}
	if opt.MaxDecoded <= 0 {
		opt.MaxDecoded = 4 << 20
	}
	if opt.MaxLayers <= 0 {
		opt.MaxLayers = 64
	}
	if opt.MaxHits <= 0 {
		opt.MaxHits = 256
	}
	if opt.PhoneRegions == nil {
		opt.PhoneRegions = []string{"DE", "GB", "FR", "IT", "ES", "NL", "US", "CN", "IN", "BR", "JP", "RU"}
	}
	s := &Scanner{opt: opt, keys: opt.Keys, mcc: mccSet()}
	if s.keys == nil {
		k, err := LoadKeys()
		if err != nil {
			return nil, err
		}
		s.keys = k
	}
	ci, cs := newFormSet(), newFormSet()
	var cribs []crib
	for _, d := range devices {
		ids := d.Identifiers
		hasMAC := false
		for _, id := range ids {
			if id.Type == "mac" {
				hasMAC = true
			}
		}
		if d.MAC != "" && !hasMAC {
			ids = append(ids[:len(ids):len(ids)], lab.Identifier{Type: "mac", Value: d.MAC})
		}
		for _, id := range ids {
			if id.Value == "" {
				return nil, fmt.Errorf("%w: device %q: identifier %q has no value", ErrOptions, d.ID, id.Type)
			}
			vi := int32(len(s.values))
			isGPS := strings.Contains(id.Value, ",") && (id.Lat != 0 || id.Lon != 0)
			s.values = append(s.values, known{dev: d.ID, typ: id.Type, value: id.Value, gps: isGPS})
			if isGPS {
				for _, f := range coordForms(id.Lat) {
					ci.add(f, pat{v: vi, enc: []string{"plain"}, bound: true, gps: gpsLat})
				}
				for _, f := range coordForms(id.Lon) {
					ci.add(f, pat{v: vi, enc: []string{"plain"}, bound: true, gps: gpsLon})
				}
				continue
			}
			addValueForms(ci, cs, vi, id.Type, id.Value)
			for _, n := range normalisations(id.Type, id.Value)[:1] {
				cribs = append(cribs, crib{v: vi, text: []byte(n)})
			}
			if l := strings.ToLower(id.Value); l != id.Value {
				cribs = append(cribs, crib{v: vi, text: []byte(l)})
			}
		}
	}
	s.m = newMatcher()
	for i, p := range ci.pats {
		s.m.add(p, true)
		s.info = append(s.info, ci.info[i])
	}
	for i, p := range cs.pats {
		s.m.add(p, false)
		s.info = append(s.info, cs.info[i])
	}
	s.buildXOR(cribs)
	return s, nil
}

// rawHit is a Hit plus where it was found inside its layer.
type rawHit struct {
	Hit
	layer      int
	start, end int
	top        string // depth-0 location, for merging duplicates
}

type scanState struct {
	s           *Scanner
	base        string
	ctype       string // Input.ContentType
	decodedLen  int
	layers      int
	hits        []rawHit
	fieldBuf    []field
	nodeBuf     []pnode
	fieldMem    []field // the arrays fieldBuf and nodeBuf are cut from, kept for the next Scan
	nodeMem     []pnode
	private     bool            // a private-browsing flag was seen (behaviour.go)
	noBehaviour bool            // Input.Page was set, or behaviourSkipped(base): no behavioural detection
	urls        map[string]bool // decoded forms of page URLs already reported (behaviour.go)
	macs        linkMACs        // Input.MACs (linkmac.go)
	linked      bool            // a layer held 12 bare hex digits: the result depends on macs

	// Stacks shared by the nested layers of one Scan (a layer sees its
	// ancestors' entries, below its own depth's): the decodings applied,
	// and the encoded blobs a layer came from (as bytes of the parent
	// layer, turned into strings only when a hit needs them).
	chain   []string
	wire    [][]byte
	wireStr []string
	// arena holds the decoded layers of the Scan; a layer's bytes stay
	// until its subtree is scanned.
	arena []byte
	inf   inflaters
}

// statePool recycles scan states, with their buffers, between Scan calls.
var statePool = sync.Pool{New: func() any { return new(scanState) }}

// Buffers larger than these are not kept for the next Scan.
const (
	keepFields = 8 << 10
	keepArena  = 1 << 20
)

func (st *scanState) reset() {
	if cap(st.fieldMem) > keepFields {
		st.fieldMem = nil
	}
	if cap(st.nodeMem) > keepFields {
		st.nodeMem = nil
	}
	if cap(st.arena) > keepArena {
		st.arena = nil
	}
	if cap(st.hits) > 1024 {
		st.hits = nil
	}
	clear(st.hits) // hits only grow during a Scan: the rest is clear
	clear(st.wireStr[:cap(st.wireStr)])
	clear(st.wire[:cap(st.wire)])
	clear(st.chain[:cap(st.chain)])
	*st = scanState{
		hits: st.hits[:0], fieldMem: st.fieldMem[:0], nodeMem: st.nodeMem[:0],
		fieldBuf: st.fieldMem[:0], nodeBuf: st.nodeMem[:0],
		chain: st.chain[:0], wire: st.wire[:0], wireStr: st.wireStr[:0], arena: st.arena[:0], inf: st.inf,
	}
}

// Scan reports every identifier found in in, sorted by offset, each once
// per (identifier, value, location).
func (s *Scanner) Scan(in Input, emit func(Hit)) { s.ScanLinked(in, emit) }

// ScanLinked is Scan that also reports whether its result depended on
// in.MACs: whether a layer held 12 bare hex digits, which are a MAC only
// when they spell one of the flow's (linkmac.go). Otherwise the result is
// the same for any MACs, so a caller that remembers inputs without hits
// (the engine's scan memo) need not tell flows apart.
func (s *Scanner) ScanLinked(in Input, emit func(Hit)) (linked bool) {
	data := in.Data
	if len(data) > s.opt.MaxInput {
		data = data[:s.opt.MaxInput]
	}
	st := statePool.Get().(*scanState)
	st.s, st.base, st.ctype = s, in.Location, in.ContentType
	st.noBehaviour = in.Page != "" || behaviourSkipped(in.Location)
	st.macs.set(in.MACs)
	st.layer(data, in.Location, 0, 0, 0, -1, nil, "")
	if len(st.hits) > 0 {
		for _, h := range st.finish() {
			if st.private && IsBehaviour(h.Identifier) {
				h.Private = true
			}
			emit(h)
		}
	}
	linked = st.linked
	st.reset()
	statePool.Put(st)
	return linked
}

// layer scans one decoded layer. loc is the location of the layer (the
// refined location of the blob it came from), chain the decodings applied
// so far, off the offset to report (-1: positions in data are offsets in
// Input.Data), pkeyText the key of the field that held the blob (empty:
// none), top the depth-0 location; the layer's decodings and blobs are
// the first nchain and nwire entries of the state's stacks.
func (st *scanState) layer(data []byte, loc string, nchain, nwire, depth, off int, pkeyText []byte, top string) {
	if len(st.hits) >= st.s.opt.MaxHits || len(data) == 0 {
		return
	}
	id := st.layers
	st.layers++
	fields, nodes, isJSON := extractFields(data, st.fieldBuf[:0], st.nodeBuf[:0])
	st.keepBufs(fields, nodes)
	st.fieldBuf, st.nodeBuf = fields[len(fields):], nodes[len(nodes):]
	pkey, haspkey := parentKey(pkeyText)
	whole := false
	if len(fields) == 0 && len(pkeyText) > 0 {
		fields = append(fields, field{key: pkeyText, node: -1, vs: 0, ve: len(data)})
		st.keepBufs(fields, nodes)
		st.fieldBuf = fields[len(fields):]
		isJSON = false
		whole = true // whole-layer field: keep loc unrefined
	}
	lc := layerCtx{st: st, data: data, loc: loc, nchain: nchain, nwire: nwire, depth: depth, off: off, id: id, fields: fields, nodes: nodes, json: isJSON, top: top, whole: whole, pkey: pkey, haspkey: haspkey}
	lc.known()
	if !st.s.opt.NoGeneric && depth <= st.s.opt.MaxDepth {
		lc.generic()
		lc.behaviour()
	}
	if depth < st.s.opt.MaxDepth {
		lc.decodeChildren()
	}
}

// keepBufs keeps the largest arrays extractFields appended into (a
// grown array has more room than any tail of the kept one), so that the
// next Scan reuses them.
func (st *scanState) keepBufs(fields []field, nodes []pnode) {
	if cap(fields) > cap(st.fieldMem) {
		st.fieldMem = fields[:0]
	}
	if cap(nodes) > cap(st.nodeMem) {
		st.nodeMem = nodes[:0]
	}
}

type layerCtx struct {
	st      *scanState
	data    []byte
	loc     string
	nchain  int // the decodings applied so far: st.chain[:nchain]
	nwire   int // the blobs this layer was decoded from, outermost first: st.wire[:nwire]
	depth   int
	off     int
	id      int
	fields  []field
	nodes   []pnode
	json    bool
	top     string
	whole   bool
	pkey    nkey // normalised key of the parent field a decoded layer came from
	haspkey bool
}

// chain returns the decodings applied so far, outermost first.
func (lc *layerCtx) chain() []string { return lc.st.chain[:lc.nchain] }

// fieldAt returns the innermost field whose value span holds [s, e).
func (lc *layerCtx) fieldAt(s, e int) *field {
	var best *field
	for i := range lc.fields {
		f := &lc.fields[i]
		if f.vs <= s && e <= f.ve && (best == nil || f.ve-f.vs < best.ve-best.vs) {
			best = f
		}
	}
	return best
}

// key returns a field's key name.
func (lc *layerCtx) key(f *field) string { return string(lc.keyBytes(f)) }

// keyBytes returns a field's key without allocating.
func (lc *layerCtx) keyBytes(f *field) []byte {
	if f.key != nil {
		return f.key
	}
	return lc.data[f.ks:f.ke]
}

// refine turns a field into a location string.
func (lc *layerCtx) refine(f *field) string {
	if f == nil || lc.whole {
		return lc.loc
	}
	name := lc.key(f)
	if lc.json && f.node >= 0 {
		name = jsonPath(lc.data, lc.nodes, f.node)
	}
	if lc.depth == 0 {
		if lc.json {
			if lc.loc == "" {
				return "json:" + name
			}
			return lc.loc + ".json:" + name
		}
		if lc.loc == "" {
			return name
		}
		return lc.loc + ":" + name
	}
	return lc.loc + ">" + name
}

func (lc *layerCtx) add(h Hit, s, e int) {
	st := lc.st
	if len(st.hits) >= st.s.opt.MaxHits {
		return
	}
	f := lc.fieldAt(s, e)
	h.Location = lc.refine(f)
	h.Spellings = nil
	if n := lc.nwire + 1; lc.nwire > 0 || e-s <= MaxSpelling {
		h.Spellings = make([]string, lc.nwire, n)
		for i := range h.Spellings {
			if st.wireStr[i] == "" {
				st.wireStr[i] = string(st.wire[i])
			}
			h.Spellings[i] = st.wireStr[i]
		}
	}
	if e-s <= MaxSpelling {
		h.Spellings = append(h.Spellings, string(lc.data[s:e]))
	}
	h.Offset = s
	if lc.off >= 0 {
		h.Offset = lc.off
	}
	top := lc.top
	if lc.depth == 0 {
		top = h.Location
	}
	st.hits = append(st.hits, rawHit{Hit: h, layer: lc.id, start: s, end: e, top: top})
}

func (lc *layerCtx) enc(tail []string) []string {
	out := make([]string, 0, lc.nchain+len(tail))
	out = append(out, lc.chain()...)
	return append(out, tail...)
}

// boundaryOK: the bytes around [s, e) are not letters or digits, except
// that a %XX escape before s counts as a boundary.
func boundaryOK(b []byte, s, e int) bool {
	if s > 0 && isAlnum(b[s-1]) && !(s >= 3 && b[s-3] == '%' && hexVal(b[s-2]) >= 0 && hexVal(b[s-1]) >= 0) {
		return false
	}
	return e >= len(b) || !isAlnum(b[e])
}

type gpsMatch struct {
	v          int32
	part       gpsPart
	start, end int
}

// known runs both automatons over the layer.
func (lc *layerCtx) known() {
	s := lc.st.s
	var coords []gpsMatch
	s.m.scan(lc.data, func(pi, ms, me int) {
		{
			for _, p := range s.info[pi] {
				me := me
				if p.full != "" {
					if ms+len(p.full) > len(lc.data) || !(equalFold(lc.data[ms:ms+len(p.full)], p.full) && (p.enc[0] != "base64" || string(lc.data[ms:ms+len(p.full)]) == p.full)) {
						continue
					}
					me = ms + len(p.full)
				}
				if p.bound && !boundaryOK(lc.data, ms, me) {
					continue
				}
				if p.b64 && !verifyB64(lc.data, ms, p) {
					continue
				}
				if p.gps != gpsNone {
					if ms > 0 && (lc.data[ms-1] == '.' || lc.data[ms-1] == '-') {
						continue
					}
					coords = append(coords, gpsMatch{p.v, p.gps, ms, me})
					continue
				}
				k := s.values[p.v]
				lc.add(Hit{Identifier: k.typ, Known: true, DeviceID: k.dev, Value: k.value, Encoding: lc.enc(p.enc)}, ms, me)
			}
		}
	})
	// A known position counts when both coordinates appear within 256 bytes.
	for _, a := range coords {
		if a.part != gpsLat {
			continue
		}
		for _, b := range coords {
			if b.v == a.v && b.part == gpsLon && abs(b.start-a.start) <= 256 {
				k := s.values[a.v]
				lc.add(Hit{Identifier: k.typ, Known: true, DeviceID: k.dev, Value: k.value, Encoding: lc.enc([]string{"plain"})}, a.start, a.end)
				break
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// finish merges duplicates and returns hits sorted by offset.
func (st *scanState) finish() []Hit {
	// Generic hits overlapping a known hit in the same layer are the same value.
	var keep []rawHit
	for _, h := range st.hits {
		if !h.Known {
			dup := false
			for _, k := range st.hits {
				if k.Known && k.layer == h.layer && k.start < h.end && h.start < k.end {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
		}
		keep = append(keep, h)
	}
	// One hit per (known, device, identifier, value, depth-0 location):
	// prefer the most refined location, then the shortest chain.
	best := map[string]int{}
	var out []rawHit
	for _, h := range keep {
		k := strconv.FormatBool(h.Known) + "\x00" + h.DeviceID + "\x00" + h.Identifier + "\x00" + h.Value + "\x00" + h.top
		i, ok := best[k]
		if !ok {
			best[k] = len(out)
			out = append(out, h)
			continue
		}
		o := out[i]
		if len(h.Location) > len(o.Location) || len(h.Location) == len(o.Location) && (len(h.Encoding) < len(o.Encoding) || len(h.Encoding) == len(o.Encoding) && h.Offset < o.Offset) {
			out[i] = h
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		if a.Identifier != b.Identifier {
			return a.Identifier < b.Identifier
		}
		if a.Value != b.Value {
			return a.Value < b.Value
		}
		return a.Location < b.Location
	})
	res := make([]Hit, len(out))
	for i, h := range out {
		res[i] = h.Hit
	}
	return res
}

// verifyB64 decodes the base64 characters around a match of an inner
// base64 pattern and checks that they hold exactly the value's bytes.
// Characters outside the data, or that are not base64, read as 'A' (zero
// bits): they can only hold filler bits or padding.
func verifyB64(b []byte, ms int, p pat) bool {
	k := int(p.align)
	g0 := ms
	if k > 0 {
		g0 = ms - (k + 1)
	}
	need := (k + len(p.raw) + 2) / 3 * 4
	win := make([]byte, need)
	for i := range win {
		c := byte('A')
		if j := g0 + i; j >= 0 && j < len(b) && isB64Char(b[j]) {
			c = b[j]
		}
		switch c {
		case '-':
			c = '+'
		case '_':
			c = '/'
		}
		win[i] = c
	}
	out := make([]byte, need/4*3)
	n, err := base64.StdEncoding.Decode(out, win)
	if err != nil || n < k+len(p.raw) {
		return false
	}
	return string(out[k:k+len(p.raw)]) == p.raw
}

// equalFold compares ASCII case-insensitively.
func equalFold[T string | []byte](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x >= 'A' && x <= 'Z' {
			x += 32
		}
		if y >= 'A' && y <= 'Z' {
			y += 32
		}
		if x != y {
			return false
		}
	}
	return true
}
