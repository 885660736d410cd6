package tls

import (
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Record content types (RFC 8446 section 5.1).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
	recHeartbeat        = 24
)

// Limits bound what a Stream buffers per direction.
type Limits struct {
	// MaxRecord is the largest record body accepted (TLSCiphertext allows
	// 2^14+256; 2^14+2048 is tolerated for old stacks). Larger means the
	// bytes are not TLS and the direction stops being parsed.
	MaxRecord int
	// MaxHandshake is the largest handshake message reassembled across
	// records (certificate chains are the big ones). A larger message is
	// skipped and counted in HandshakeSkipped.
	MaxHandshake int
	// MaxClientHellos caps the ClientHellos kept per connection.
	MaxClientHellos int
}

// DefaultLimits returns the limits used by NewStream.
func DefaultLimits() Limits {
	return Limits{MaxRecord: 1<<14 + 2048, MaxHandshake: 1 << 16, MaxClientHellos: 4}
}

// Stream is a proto.StreamParser for one TCP connection carrying TLS. It
// parses records in both directions, reassembles handshake messages across
// records and segments, and stops decoding a direction at its first
// ChangeCipherSpec or application data record (it then only counts). At End
// it emits one "tls" event for the session, if a TLS handshake was seen.
type Stream struct {
	sink    proto.Sink
	lim     Limits
	dirs    [2]dirState
	sess    Session
	first   proto.Meta // meta of the first handshake message
	started bool
	ended   bool
	leaf    *x509.Certificate
	// noPrints: the sink never reads the event's fields (the engine when
	// it writes no events), so the ClientHellos' fingerprints, which only
	// the event shows, are not computed.
	noPrints bool
}

// phase of one direction.
type phase uint8

const (
	phaseHandshake phase = iota // decoding records and handshake messages
	phaseEncrypted              // framing only: counting records
	phaseLost                   // framing lost or not TLS: counting bytes
)

type dirState struct {
	phase   phase
	hdr     [5]byte
	hdrN    int
	recType uint8
	recLeft int // body bytes left in the current record
	hs      []byte
	hsMeta  proto.Meta
	hsSkip  int // bytes of an over-long handshake message still to drop
	alert   []byte
	// afterCCS: a TLS 1.3 compatibility ChangeCipherSpec was seen before
	// the final ServerHello; only a plaintext hello may follow.
	afterCCS bool
	bytes    uint64
	records  uint64
}

var _ proto.StreamParser = (*Stream)(nil)

// NewStream returns a parser that reports to sink once, at End, if a TLS
// handshake was seen: the SNI as a name, one "tls" event whose fields are
// the *Session, and the session's findings. A nil sink is told nothing
// (read Session instead).
func NewStream(sink proto.Sink) *Stream { return NewStreamLimits(sink, DefaultLimits()) }

// NewStreamLimits is NewStream with explicit limits.
func NewStreamLimits(sink proto.Sink, lim Limits) *Stream {
	// Only the event shows the JA3 and JA4 fingerprints.
	return &Stream{sink: sink, lim: lim, noPrints: proto.FieldsUnread(sink)}
}

// Spec describes TLS to the engine: detected by its first record, on any
// port; the channel is the negotiated version (Channel).
func Spec() proto.Spec {
	return proto.Spec{
		Name: "tls", Channel: "TLS",
		Detect: func(in proto.DetectInput) proto.Verdict {
			if Detect(in.Up) || Detect(in.Down) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder { return NewStream(s) },
	}
}

var _ proto.Channeler = (*Stream)(nil)

// Channel is the negotiated version ("TLS1.3"), or "" when no ServerHello
// was seen.
func (s *Stream) Channel() string { return s.sess.Version }

// Detect reports whether b starts like a TLS handshake record: content type
// 22, major version 3, minor 0..4, a plausible length, and (when visible) a
// ClientHello or ServerHello message type.
func Detect(b []byte) bool {
	if len(b) < 3 || b[0] != recHandshake || b[1] != 3 || b[2] > 4 {
		return false
	}
	if len(b) >= 5 {
		n := int(b[3])<<8 | int(b[4])
		if n == 0 || n > DefaultLimits().MaxRecord {
			return false
		}
	}
	if len(b) >= 6 && b[5] != typeClientHello && b[5] != typeServerHello {
		return false
	}
	return true
}

// ClientHello returns the first ClientHello seen so far, or nil.
func (s *Stream) ClientHello() *ClientHello {
	if len(s.sess.ClientHellos) == 0 {
		return nil
	}
	return &s.sess.ClientHellos[0].ClientHello
}

// Session returns the session as decoded so far (owned by the Stream).
func (s *Stream) Session() *Session { return &s.sess }

// Data implements proto.StreamParser.
func (s *Stream) Data(dir proto.Dir, data []byte, m proto.Meta) {
	if dir > proto.ToClient || s.ended {
		return
	}
	d := &s.dirs[dir]
	d.bytes += uint64(len(data))
	for len(data) > 0 && d.phase != phaseLost {
		if d.hdrN < 5 {
			n := copy(d.hdr[d.hdrN:], data)
			d.hdrN += n
			data = data[n:]
			if d.hdrN < 5 {
				return
			}
			if !s.startRecord(dir, d) {
				return
			}
			continue
		}
		n := min(d.recLeft, len(data))
		s.recordBody(dir, d, data[:n], m)
		data = data[n:]
		d.recLeft -= n
		if d.recLeft == 0 {
			s.endRecord(dir, d)
			d.hdrN = 0
		}
	}
}

// startRecord validates a complete record header.
func (s *Stream) startRecord(dir proto.Dir, d *dirState) bool {
	typ, major, minor := d.hdr[0], d.hdr[1], d.hdr[2]
	n := int(d.hdr[3])<<8 | int(d.hdr[4])
	if typ < recChangeCipherSpec || typ > recHeartbeat || major != 3 || minor > 4 || n > s.lim.MaxRecord {
		d.phase = phaseLost
		if d.records == 0 && dir == proto.ToServer {
			return false // not TLS at all
		}
		s.sess.note(fmt.Sprintf("%s: framing lost after %d records", dir, d.records))
		return false
	}
	d.records++
	d.recType = typ
	d.recLeft = n
	if dir == proto.ToServer && s.sess.RecordVersion == 0 {
		s.sess.RecordVersion = uint16(major)<<8 | uint16(minor)
	}
	s.sess.Records[dir]++
	if d.phase == phaseEncrypted || typ == recApplicationData {
		d.phase = phaseEncrypted
		if typ == recApplicationData {
			s.sess.AppData[dir] += uint64(n)
		}
	}
	if n == 0 {
		s.endRecord(dir, d)
		d.hdrN = 0
	}
	return true
}

func (s *Stream) recordBody(dir proto.Dir, d *dirState, b []byte, m proto.Meta) {
	if d.phase != phaseHandshake {
		return
	}
	switch d.recType {
	case recHandshake:
		s.handshakeBytes(dir, d, b, m)
	case recAlert:
		if len(d.alert) < 2 {
			d.alert = append(d.alert, b[:min(len(b), 2-len(d.alert))]...)
			if len(d.alert) == 2 {
				s.sess.Alerts = append(s.sess.Alerts, Alert{Frame: m.Frame, Dir: dir.String(), Level: d.alert[0], Description: d.alert[1]})
			}
		}
	}
}

func (s *Stream) endRecord(dir proto.Dir, d *dirState) {
	switch d.recType {
	case recChangeCipherSpec:
		// After a HelloRetryRequest, TLS 1.3 middlebox-compatibility CCS
		// records are followed by plaintext hellos; otherwise what follows
		// is encrypted.
		// When the server's side is missing, a client that offered TLS 1.3
		// is given the benefit of the doubt: only a hello may follow.
		if s.sess.ServerHello != nil || !s.may13() {
			d.phase = phaseEncrypted
			d.hs = nil
		} else {
			d.afterCCS = true
		}
	case recAlert:
		d.alert = d.alert[:0]
	}
}

// handshakeBytes appends record body bytes to the handshake buffer and
// decodes every complete message.
func (s *Stream) handshakeBytes(dir proto.Dir, d *dirState, b []byte, m proto.Meta) {
	for len(b) > 0 && d.phase == phaseHandshake {
		if d.hsSkip > 0 {
			n := min(d.hsSkip, len(b))
			d.hsSkip -= n
			b = b[n:]
			continue
		}
		if len(d.hs) == 0 {
			d.hsMeta = m
		}
		if len(d.hs) < 4 {
			n := min(4-len(d.hs), len(b))
			d.hs = append(d.hs, b[:n]...)
			b = b[n:]
			if len(d.hs) < 4 {
				return
			}
		}
		if d.afterCCS && d.hs[0] != typeClientHello && d.hs[0] != typeServerHello {
			d.phase = phaseEncrypted
			d.hs = nil
			return
		}
		need := 4 + (int(d.hs[1])<<16 | int(d.hs[2])<<8 | int(d.hs[3]))
		if need > s.lim.MaxHandshake {
			d.hsSkip = need - len(d.hs)
			s.sess.HandshakeSkipped++
			s.sess.note(fmt.Sprintf("%s: handshake message type %d of %d bytes skipped (cap %d)", dir, d.hs[0], need, s.lim.MaxHandshake))
			d.hs = d.hs[:0]
			continue
		}
		n := min(need-len(d.hs), len(b))
		if n < need-len(d.hs) && cap(d.hs) < need {
			d.hs = slices.Grow(d.hs, need-len(d.hs)) // once, not doubling per record
		}
		d.hs = append(d.hs, b[:n]...)
		b = b[n:]
		if len(d.hs) == need {
			s.message(dir, d.hs, d.hsMeta)
			d.hs = d.hs[:0]
		}
	}
}

// may13 reports whether the connection may still be TLS 1.3 (the client
// offered it and no final ServerHello said otherwise).
func (s *Stream) may13() bool {
	if s.sess.ServerHello != nil {
		v := s.sess.ServerHello.Version
		return v == 0x0304 || v>>8 == 0x7f
	}
	ch := s.ClientHello()
	return ch == nil || versionRank(ch.MaxVersion()) >= versionRank(0x7f00)
}

// message handles one complete handshake message.
func (s *Stream) message(dir proto.Dir, msg []byte, m proto.Meta) {
	d := &s.dirs[dir]
	if d.afterCCS {
		d.afterCCS = false
		if _, err := ParseClientHello(msg); dir == proto.ToServer && err != nil {
			d.phase = phaseEncrypted
			return
		}
		if _, err := ParseServerHello(msg); dir == proto.ToClient && err != nil {
			d.phase = phaseEncrypted
			return
		}
	}
	switch {
	case dir == proto.ToServer && msg[0] == typeClientHello:
		ch, err := ParseClientHello(msg)
		if err != nil {
			s.sess.note(fmt.Sprintf("frame %d: %v", m.Frame, err))
			s.sess.ParseErrors++
			return
		}
		if !s.started {
			s.started, s.first = true, m
		}
		ch.RecordVersion = s.sess.RecordVersion
		if len(s.sess.ClientHellos) < s.lim.MaxClientHellos {
			info := ClientHelloInfo{Frame: m.Frame, MaxVersion: VersionName(ch.MaxVersion()), ClientHello: *ch}
			if !s.noPrints {
				info = NewClientHelloInfo(ch, m.Frame, JA4TCP)
			}
			s.sess.ClientHellos = append(s.sess.ClientHellos, info)
		}
	case dir == proto.ToClient && msg[0] == typeServerHello:
		sh, err := ParseServerHello(msg)
		if err != nil {
			s.sess.note(fmt.Sprintf("frame %d: %v", m.Frame, err))
			s.sess.ParseErrors++
			return
		}
		if !s.started {
			s.started, s.first = true, m
		}
		info := &ServerHelloInfo{Frame: m.Frame, ServerHello: *sh}
		if sh.HelloRetry && s.sess.HelloRetry == nil {
			s.sess.HelloRetry = info
		} else if s.sess.ServerHello == nil {
			s.sess.ServerHello = info
		}
		if !sh.HelloRetry && (sh.Version == 0x0304 || sh.Version>>8 == 0x7f) {
			// The rest of the server's handshake is encrypted.
			s.dirs[dir].phase = phaseEncrypted
		}
	case dir == proto.ToClient && msg[0] == TypeCertificate && s.sess.Certificates == nil:
		chain, leaf, err := parseChain(msg, m.Time)
		s.setChain(chain, leaf, err, m)
	}
}

// setChain records the session's certificate chain (empty, not nil, when
// none could be read: the chain was seen) and notes a parse error.
func (s *Stream) setChain(chain []Certificate, leaf *x509.Certificate, err error, m proto.Meta) {
	if err != nil {
		s.sess.note(fmt.Sprintf("frame %d: %v", m.Frame, err))
		s.sess.ParseErrors++
	}
	s.sess.CertificateFrame = m.Frame
	s.sess.Certificates = chain
	if s.sess.Certificates == nil {
		s.sess.Certificates = []Certificate{}
	}
	s.leaf = leaf
}

// Gap implements proto.StreamParser: bytes were lost, so record framing is
// lost for that direction; it is counted from here on.
func (s *Stream) Gap(dir proto.Dir, n int, m proto.Meta) {
	if dir > proto.ToClient {
		return
	}
	d := &s.dirs[dir]
	s.sess.GapBytes[dir] += uint64(n)
	if d.phase != phaseLost {
		d.phase = phaseLost
		d.hs = nil
		if s.started {
			s.sess.note(fmt.Sprintf("%s: %d bytes missing at frame %d, stopped decoding", dir, n, m.Frame))
		}
	}
}

// End implements proto.StreamParser: it finishes the session and emits its
// event (once), if a hello was seen.
func (s *Stream) End(m proto.Meta) {
	if s.ended {
		return
	}
	s.ended = true
	if !s.started {
		return
	}
	s.sess.finish(s.leaf)
	if s.sink == nil {
		return
	}
	if s.sess.SNI != "" {
		s.sink.Name(proto.Name{Name: s.sess.SNI, Source: proto.FromSNI, Frame: s.first.Frame})
	}
	s.sink.Emit("tls", s.first, &s.sess)
	for _, fi := range s.sess.Findings {
		// Time left zero: the engine dates session findings at the
		// flow's start.
		s.sink.Finding(proto.Finding{Kind: fi.Kind, Severity: fi.Severity, Message: fi.Message, Frame: fi.Frame})
	}
}
