package engine

import (
	"bytes"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto"
)

// session is the engine's state for one flow (flow.Flow.User): the
// decoders its Specs made, and what they reported through the session,
// which is their proto.Sink.
type session struct {
	w     *worker
	f     *flow.Flow
	proto string // the flow's protocol (a Spec name), "" while unknown

	// TCP: the decoder the first bytes chose (or a Switch handed over to).
	spec    *proto.Spec
	stream  proto.StreamDecoder
	decided bool
	// opaqueRest: a Switch no Spec took; the rest of the flow is neither
	// decoded nor scanned, and the flow keeps the switching decoder's
	// protocol and channel.
	opaqueRest bool
	redetect   bool         // after Switch(Redetect): detecting again
	hold       *holdState   // bytes held while undecided (rare)
	sw         *switchState // Switch state (rare)

	// UDP: the decoders made for the flow's datagrams, in order.
	dgrams []dgramDecoder
	last   *proto.Spec // Spec of the latest datagram claimed
	dir    proto.Dir   // direction of the data being decoded (observers)

	unknown *unknownState // payload no Spec claimed (unknown.go)
	crypt   *decryptState // TLS and QUIC with key logs (decrypt.go)

	names    names
	leaks    []audit.Leak
	findings []audit.Finding
	uas      []string
	recKey   []byte // sort key of the flow's spooled records (records.go)
}

// holdState keeps the first bytes of each direction while no Spec has
// decided.
type holdState struct {
	held [2][]byte
	meta [2]proto.Meta // where they started
}

// switchState is what Switch calls leave: the hand-over asked for during
// the current decoder call, and the decoders switched away from.
type switchState struct {
	pending     *pendingSwitch
	replaced    []replacedDecoder
	prevChannel string // channel of the decoder that switched away
	switchedTo  string // the Spec the last Switch named (handover.go: STARTTLS)
}

type dgramDecoder struct {
	spec *proto.Spec
	dec  proto.DatagramDecoder
}

type replacedDecoder struct {
	spec *proto.Spec
	dec  proto.StreamDecoder
}

// pendingSwitch is a Switch asked for during a decoder call, done when the
// call returns.
type pendingSwitch struct {
	to       string
	up, down []byte
	m        proto.Meta
}

// names holds the candidate names of a flow's server by source.
type names struct {
	sni, host, quicSNI, protocol string
	dns, ptr                     string // from answers seen before the flow began
	banner                       string // the server's name for itself
	device                       string // a name the client gave itself
}

const maxFlowLeaks = 64

func (w *worker) sess(f *flow.Flow) *session {
	if s, ok := f.User.(*session); ok {
		return s
	}
	var s *session
	if n := len(w.freeSessions); n > 0 {
		s, w.freeSessions[n-1] = w.freeSessions[n-1], nil
		w.freeSessions = w.freeSessions[:n-1]
		*s = session{w: w, f: f, dgrams: s.dgrams, uas: s.uas, leaks: s.leaks, findings: s.findings}
	} else {
		s = &session{w: w, f: f}
	}
	f.User = s
	return s
}

// maxFreeSessions and maxFreeUnknown bound worker.freeSessions and
// worker.freeUnknown (whose samples take up to 8 KiB each).
const (
	maxFreeSessions = 256
	maxFreeUnknown  = 32
)

// recycler is a decoder that can be reused for a later flow once its own
// has ended (http.Decoder).
type recycler interface{ Recycle() }

// release keeps an ended flow's session for a later flow (End): nothing
// holds it once the flow is filed (its decoders go with it). The HTTP/1
// decoder of a flow that never switched goes back to its Spec, and the
// unknown-payload samples are kept for the next flow when no event shows
// them.
func (w *worker) release(s *session) {
	if r, ok := s.stream.(recycler); ok && s.sw == nil && s.crypt == nil {
		r.Recycle()
	}
	if u := s.unknown; u != nil && !w.eventsWanted() && len(w.freeUnknown) < maxFreeUnknown {
		*u = unknownState{sample: u.sample[:0], down: u.down[:0]}
		w.freeUnknown = append(w.freeUnknown, u)
	}
	if s != &w.idle && len(w.freeSessions) < maxFreeSessions {
		// Small slices keep their arrays for the next flow: what was
		// filed from them was copied (the inventory takes leaks,
		// findings and User-Agents by value).
		*s = session{dgrams: reuse(s.dgrams, 2), uas: reuse(s.uas, 8), leaks: reuse(s.leaks, 4), findings: reuse(s.findings, 4)}
		w.freeSessions = append(w.freeSessions, s)
	}
}

// reuse returns s emptied and cleared if its capacity is at most n, else
// nil. Only its length is cleared: nothing writes past a session slice's
// length but append (inventory.addFlow reads its findings and the
// behaviour ones apart, not appended), so the rest is still zero (as
// append made it, or as the last reuse left it). Most flows end with no
// leaks and findings: nothing to clear.
func reuse[T any](s []T, n int) []T {
	if cap(s) > n {
		return nil
	}
	clear(s)
	return s[:0]
}

// newUnknown returns an empty unknown-payload state, one a flow ended with
// if there is one (release).
func (w *worker) newUnknown() *unknownState {
	if n := len(w.freeUnknown); n > 0 {
		u := w.freeUnknown[n-1]
		w.freeUnknown[n-1] = nil
		w.freeUnknown = w.freeUnknown[:n-1]
		return u
	}
	return &unknownState{}
}

// Start, Datagram, Stream, Gap and End make the worker a flow.Handler.

// Start allocates nothing: a session is made on the first payload (sess),
// so a flood of half-open connections costs only the flow table's entries.
// Start names the flow's server from the DNS answers its client received
// before the flow began: at this moment, and only now, the cache holds
// exactly those answers, whatever the worker count or when the flow ends.
func (w *worker) Start(f *flow.Flow, p *flow.Packet) {
	if n, _, _, ok := w.dnsCache.Name(f.Client.Addr(), f.Server.Addr(), f.First); ok {
		w.sess(f).names.dns = n
	} else if n, _, ok := w.dnsCache.PTR(f.Client.Addr(), f.Server.Addr(), f.First); ok {
		w.sess(f).names.ptr = n
	}
}

// Datagram hands a UDP datagram to the first datagram Spec that claims it
// (a WholeFlow decoder that claimed the flow gets all of them), or to the
// unknown-payload profile.
func (w *worker) Datagram(f *flow.Flow, dir proto.Dir, p *flow.Packet) {
	if f.Key.Proto != flow.ProtoUDP || len(p.Payload) == 0 {
		return
	}
	s := w.sess(f)
	s.dir = dir
	m := proto.Meta{Frame: p.Frame, Time: p.Time}
	if s.last != nil && s.last.WholeFlow {
		s.dgrams[0].dec.Datagram(dir, p.Payload, m)
		return
	}
	in := proto.DetectInput{ServerPort: f.Server.Port(), ClientPort: f.Client.Port()}
	if dir == proto.ToServer {
		in.Up = p.Payload
	} else {
		in.Down = p.Payload
	}
	for i := range w.specs.datagrams {
		sp := &w.specs.datagrams[i]
		if sp.WholeFlow && s.last != nil || sp.Detect(in) != proto.Yes {
			continue
		}
		d := s.datagramDecoder(sp, in)
		if d == nil {
			break
		}
		s.proto, s.last = sp.Name, sp
		d.Datagram(dir, p.Payload, m)
		return
	}
	s.unknownBytes(dir, p.Payload, m, true)
}

// datagramDecoder returns the flow's decoder of sp, made on first use.
func (s *session) datagramDecoder(sp *proto.Spec, in proto.DetectInput) proto.DatagramDecoder {
	for _, d := range s.dgrams {
		if d.spec == sp {
			return d.dec
		}
	}
	d, ok := s.decrypting(sp, sp.Make(s, in), in).(proto.DatagramDecoder)
	if !ok {
		s.w.counter["decoder_not_datagram_"+sp.Name]++
		return nil
	}
	s.dgrams = append(s.dgrams, dgramDecoder{sp, d})
	return d
}

// Stream hands a TCP flow's bytes to its decoder, choosing it first from
// the first bytes (decide).
func (w *worker) Stream(f *flow.Flow, dir proto.Dir, data []byte, m proto.Meta) {
	s := w.sess(f)
	s.streamData(dir, data, m)
}

func (s *session) streamData(dir proto.Dir, data []byte, m proto.Meta) {
	s.dir = dir
	if !s.decided && !s.decide(dir, data, m) {
		return
	}
	if s.hold != nil {
		if h := s.hold.held[dir]; len(h) > 0 {
			// Bytes held while undecided come first.
			s.hold.held[dir], data = nil, append(h, data...)
		}
	}
	s.feed(dir, data, m)
}

func (s *session) feed(dir proto.Dir, data []byte, m proto.Meta) {
	switch {
	case s.stream != nil:
		s.stream.Data(dir, data, m)
		if s.sw != nil && s.sw.pending != nil {
			s.doSwitch()
		}
	case s.proto == "" && !s.opaqueRest:
		s.unknownBytes(dir, data, m, false)
	}
}

// decide asks the stream Specs about the first bytes of each side. It
// returns false while it waits for more bytes (then it holds data): when
// fewer than 4 bytes came from one side and the other has sent nothing,
// or a Spec answered NeedMore and SniffBytes have not come yet nor both
// sides spoken. Once decided, bytes the other side sent while undecided
// are fed first.
func (s *session) decide(dir proto.Dir, data []byte, m proto.Meta) bool {
	view := data[:min(len(data), proto.SniffBytes)]
	var other []byte
	if hs := s.hold; hs != nil {
		if h := hs.held[dir]; len(h) > 0 {
			view = append(h[:len(h):len(h)], data[:min(len(data), proto.SniffBytes-len(h))]...)
		}
		other = hs.held[1-dir]
	}
	in := proto.DetectInput{ServerPort: s.f.Server.Port(), ClientPort: s.f.Client.Port()}
	if dir == proto.ToServer {
		in.Up, in.Down = view, other
	} else {
		in.Up, in.Down = other, view
	}
	var chosen *proto.Spec
	more := false
	for i := range s.w.specs.streams {
		sp := &s.w.specs.streams[i]
		v := sp.Detect(in)
		if v == proto.Yes {
			chosen = sp
			break
		}
		more = more || v == proto.NeedMore
	}
	if chosen == nil && len(view) < proto.SniffBytes && len(other) == 0 && (len(view) < 4 || more) {
		if s.hold == nil {
			s.hold = &holdState{}
		}
		if len(s.hold.held[dir]) == 0 {
			s.hold.meta[dir] = m
		}
		s.hold.held[dir] = append([]byte(nil), view...)
		return false
	}
	s.decided = true
	if chosen != nil {
		s.start(chosen, in)
	} else if s.redetect {
		s.opaqueRest = true
	}
	if hs := s.hold; hs != nil && len(hs.held[1-dir]) > 0 {
		h := hs.held[1-dir]
		hs.held[1-dir] = nil
		s.feed(1-dir, h, hs.meta[1-dir])
	}
	return true
}

// start makes the flow's stream decoder.
func (s *session) start(sp *proto.Spec, in proto.DetectInput) {
	d, ok := s.decrypting(sp, sp.Make(s, in), in).(proto.StreamDecoder)
	if !ok {
		s.w.counter["decoder_not_stream_"+sp.Name]++
		s.opaqueRest = true
		return
	}
	s.spec, s.stream, s.proto = sp, d, sp.Name
}

// doSwitch hands the flow to the protocol a decoder switched to (Sink.Switch),
// with the bytes each side sent after the switch point.
func (s *session) doSwitch() {
	st := s.sw
	sw := st.pending
	st.pending = nil
	st.replaced = append(st.replaced, replacedDecoder{s.spec, s.stream})
	st.prevChannel, st.switchedTo = specChannel(s.spec, s.stream), sw.to
	s.spec, s.stream = nil, nil
	if sw.to == proto.Redetect {
		s.decided, s.redetect = false, true
		if len(sw.up) > 0 {
			s.streamData(proto.ToServer, sw.up, sw.m)
		}
		if len(sw.down) > 0 {
			s.streamData(proto.ToClient, sw.down, sw.m)
		}
		return
	}
	sp := s.w.specs.stream(sw.to)
	if sp == nil {
		s.opaqueRest = true
		return
	}
	s.start(sp, proto.DetectInput{Up: sw.up, Down: sw.down, ServerPort: s.f.Server.Port(), ClientPort: s.f.Client.Port()})
	if len(sw.up) > 0 {
		s.feed(proto.ToServer, sw.up, sw.m)
	}
	if len(sw.down) > 0 {
		s.feed(proto.ToClient, sw.down, sw.m)
	}
}

// prevChannel is the channel of the decoder that switched the flow away.
func (s *session) prevChannel() string {
	if s.sw == nil {
		return ""
	}
	return s.sw.prevChannel
}

// specChannel is a decoder's channel: what it says (Channeler), else its
// Spec's.
func specChannel(sp *proto.Spec, d proto.Decoder) string {
	if c, ok := d.(proto.Channeler); ok {
		if ch := c.Channel(); ch != "" {
			return ch
		}
	}
	if sp == nil {
		return ""
	}
	return sp.Channel
}

func (w *worker) Gap(f *flow.Flow, dir proto.Dir, n int, m proto.Meta) {
	s := w.sess(f)
	if s.stream != nil {
		s.stream.Gap(dir, n, m)
		if s.sw != nil && s.sw.pending != nil {
			s.doSwitch()
		}
	}
}

// endDecoders ends every decoder of the flow, in the order they were made.
func (s *session) endDecoders(m proto.Meta) {
	if s.sw != nil {
		for _, r := range s.sw.replaced {
			r.dec.End(m)
		}
	}
	if s.stream != nil {
		s.stream.End(m)
		if s.sw != nil {
			s.sw.pending = nil // too late to switch
		}
	}
	for _, d := range s.dgrams {
		d.dec.End(m)
	}
}

// The session is the proto.Sink of its flow's decoders.
var (
	_ proto.Sink    = (*session)(nil)
	_ proto.Counter = (*session)(nil)
)

// Emit records one protocol event of the flow. The worker's observers
// (observe.go) read it first; a proto.Lazy event is built only when
// events are written.
func (s *session) Emit(typ string, m proto.Meta, fields any) {
	w := s.w
	w.observe(s, m, fields)
	if lz, ok := fields.(proto.Lazy); ok {
		if !w.eventsWanted() {
			w.countEvent(typ)
			return
		}
		fields = w.eventFields(lz)
	}
	w.event(s, audit.Event{Type: typ, Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: fields})
}

// Scan hands one decoded field to the leak scanner.
func (s *session) Scan(f proto.Field, m proto.Meta) {
	s.w.scanCoded(s, leak.Input{Location: f.Location, Data: f.Data, ContentType: f.ContentType, Page: f.Page}, m, f.Codings)
}

// Finding adds a finding to the flow; one without a time is dated at the
// flow's start.
func (s *session) Finding(f proto.Finding) {
	t := f.Time
	if t.IsZero() {
		t = s.f.First
	}
	s.addFinding(audit.Finding{Severity: f.Severity, Kind: f.Kind, Message: f.Message, Frame: f.Frame, Time: t.UTC()})
}

// Name keeps the first name offered from each source.
func (s *session) Name(n proto.Name) {
	var dst *string
	switch n.Source {
	case proto.FromSNI:
		dst = &s.names.sni
	case proto.FromHTTPHost:
		dst = &s.names.host
	case proto.FromQUICSNI:
		dst = &s.names.quicSNI
	case proto.FromProtocol:
		dst = &s.names.protocol
	case proto.FromBanner:
		dst = &s.names.banner
	case proto.DeviceName:
		dst = &s.names.device
	default:
		s.w.counter["names_unknown_source"]++
		return
	}
	if *dst == "" {
		*dst = n.Name
	}
}

// Switch hands the rest of the flow to another protocol once the calling
// decoder returns. Datagram decoders cannot switch.
func (s *session) Switch(to string, up, down []byte, m proto.Meta) {
	if s.stream == nil || s.sw != nil && s.sw.pending != nil {
		s.w.counter["switches_ignored"]++
		return
	}
	if s.sw == nil {
		s.sw = &switchState{}
	}
	s.sw.pending = &pendingSwitch{to: to, up: bytes.Clone(up), down: bytes.Clone(down), m: m}
}

// EventFieldsUnread says that no event's Fields will be asked for, nor
// an event's fields read: no events are written (http.Decoder then keeps
// no response bodies, tls.Stream computes no fingerprints).
func (s *session) EventFieldsUnread() bool { return s.w != nil && !s.w.eventsWanted() }

// Count adds to a run counter.
func (s *session) Count(name string, n uint64) { s.w.counter[name] += n }
