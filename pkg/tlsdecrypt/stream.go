package tlsdecrypt

import (
	"errors"
	"fmt"

	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// Reasons decryption of a direction stops; StopError wraps one of them.
var (
	ErrNoKey         = errors.New("no key in the key log for this session")
	ErrUnsupported   = errors.New("version or cipher suite not supported")
	ErrAuth          = errors.New("record failed authentication (wrong key or corrupted data)")
	ErrGap           = errors.New("bytes missing from the capture")
	ErrMalformed     = errors.New("malformed TLS record or handshake")
	ErrTruncated     = errors.New("stream ended inside a record")
	ErrMidstream     = errors.New("capture starts after the ClientHello: session unknown")
	ErrNoServerHello = errors.New("no ServerHello seen")
	ErrRenegotiation = errors.New("renegotiation not supported")
	ErrLimit         = errors.New("buffer limit reached")
	ErrAlert         = errors.New("fatal alert")
	ErrClosed        = errors.New("closed by close_notify")
	ErrEnd           = errors.New("stream ended")
)

// StopError says where and why decryption of one direction stopped.
type StopError struct {
	Dir     proto.Dir
	Offset  int64      // offset in the direction's TLS byte stream of the record (or gap) where it stopped
	Records int        // records decrypted in this direction before
	Meta    proto.Meta // frame of the record (or gap) where it stopped, when known
	Err     error      // one of the Err* values above, possibly wrapped with detail
}

func (e *StopError) Error() string {
	return fmt.Sprintf("tls decryption (%s) stopped at byte %d after %d records: %v", e.Dir, e.Offset, e.Records, e.Err)
}

func (e *StopError) Unwrap() error { return e.Err }

// Chunk is decrypted application data of one direction.
type Chunk struct {
	Dir    proto.Dir
	Data   []byte     // valid only during the call
	Offset int64      // offset of Data[0] in the direction's decrypted application data
	Meta   proto.Meta // frame of the first byte of the record that carried it
	Early  bool       // TLS 1.3 early (0-RTT) data
}

// Handler receives what a Stream decrypts. Plaintext is called in order
// per direction; Stopped exactly once per direction, at the latest from
// End.
type Handler interface {
	Plaintext(c Chunk)
	Stopped(e *StopError)
}

// CertificateHandler is implemented by Handlers that want the server's
// TLS 1.3 Certificate message once it is decrypted (TLS 1.2 sends it in
// clear, for the handshake decoder to read): msg is the whole handshake
// message, header first, in the TLS 1.3 layout (RFC 8446 §4.4.2), or the
// CompressedCertificate (RFC 8879, type 25) sent in its place, valid only
// during the call; m is the frame of the record that held its start.
// It is called at most once per connection, for chains up to
// Limits.MaxHandshake bytes.
type CertificateHandler interface {
	Certificate(msg []byte, m proto.Meta)
}

// Limits bound a Stream's memory.
type Limits struct {
	MaxBuffer    int // bytes held per direction: a partial record, or records waiting for the ServerHello (default 256 KiB)
	MaxHandshake int // bytes of a ClientHello, ServerHello or TLS 1.3 Certificate kept (default 64 KiB)
	MaxSkipped   int // TLS 1.3 without handshake secrets: handshake records skipped before giving up (default 32)
}

// DefaultLimits hold a maximal record (2^14 + 2048 bytes) many times over.
func DefaultLimits() Limits {
	return Limits{MaxBuffer: 256 << 10, MaxHandshake: 64 << 10, MaxSkipped: 32}
}

// Status summarises a Stream, for counting decrypted and key-less sessions.
type Status struct {
	Version   uint16 // negotiated, 0 before the ServerHello
	Suite     uint16
	KeyFound  bool     // the key log had secrets for the client random
	Records   [2]int   // records decrypted per direction (ToServer, ToClient)
	Bytes     [2]int64 // application data bytes delivered per direction
	Stop      [2]*StopError
	EarlyData bool // 0-RTT data was decrypted
}

type phase uint8

const (
	phasePlain     phase = iota // handshake in clear (and TLS 1.2 until ChangeCipherSpec)
	phaseHandshake              // TLS 1.3 handshake traffic keys (or early keys)
	phaseApp                    // application traffic keys
)

type candidate struct {
	c      recordCipher
	secret []byte // TLS 1.3 traffic secret
	early  bool
	phase  phase // the phase once this candidate authenticates
}

type mark struct {
	pos int64
	m   proto.Meta
}

type dirState struct {
	dir      proto.Dir
	buf      []byte
	off      int64 // stream offset of the next unprocessed byte
	end      int64 // stream offset after the last byte received
	marks    []mark
	phase    phase
	cur      *candidate
	cands    []candidate
	pending  recordCipher // TLS 1.2: cipher taking over at ChangeCipherSpec
	hs       hsReader
	plainOff int64
	records  int
	skipped  int
	early    bool // current keys are 0-RTT keys
	switchTo phase
	update   bool // KeyUpdate seen in the current record
	stop     *StopError
}

// Stream decrypts one TLS connection. It implements proto.StreamParser:
// the engine feeds it the reassembled bytes of both directions.
type Stream struct {
	keys    *keylog.Log
	h       Handler
	lim     Limits
	d       [2]dirState
	cr, sr  [32]byte
	haveCH  bool
	haveSH  bool
	offer0  bool // ClientHello offered early data
	hrr     bool // a HelloRetryRequest was seen
	version uint16
	suite   suite
	etm     bool
	secrets *keylog.Secrets
	st      Status
	out     []byte
	// certSeen: the server's Certificate was handed on (once).
	certSeen bool
}

var _ proto.StreamParser = (*Stream)(nil)

// New returns a Stream that looks sessions up in keys and reports to h.
func New(keys *keylog.Log, h Handler, lim Limits) *Stream {
	def := DefaultLimits()
	if lim.MaxBuffer <= 0 {
		lim.MaxBuffer = def.MaxBuffer
	}
	if lim.MaxHandshake <= 0 {
		lim.MaxHandshake = def.MaxHandshake
	}
	if lim.MaxSkipped <= 0 {
		lim.MaxSkipped = def.MaxSkipped
	}
	s := &Stream{keys: keys, h: h, lim: lim}
	for i := range s.d {
		s.d[i].dir = proto.Dir(i)
		s.d[i].hs.max = lim.MaxHandshake
	}
	return s
}

// Status returns the summary so far.
func (s *Stream) Status() Status {
	st := s.st
	for i := range s.d {
		st.Records[i] = s.d[i].records
		st.Stop[i] = s.d[i].stop
	}
	return st
}

// Data feeds in-order bytes of one direction.
func (s *Stream) Data(dir proto.Dir, data []byte, m proto.Meta) {
	d := &s.d[dir&1]
	if d.stop != nil || len(data) == 0 {
		return
	}
	d.marks = append(d.marks, mark{d.end, m})
	d.end += int64(len(data))
	if len(d.buf) == 0 {
		n := s.process(d, data)
		if d.stop == nil && n < len(data) {
			d.buf = append(d.buf, data[n:]...)
		}
	} else {
		d.buf = append(d.buf, data...)
		s.drain(d)
	}
	if d.stop == nil && len(d.buf) > s.lim.MaxBuffer {
		s.stopDir(d, d.off, ErrLimit)
	}
	s.pruneMarks(d)
}

// drain processes the buffered bytes of d.
func (s *Stream) drain(d *dirState) {
	if len(d.buf) == 0 || d.stop != nil {
		return
	}
	buf := d.buf
	n := s.process(d, buf)
	if d.stop != nil {
		d.buf = nil // stopDir dropped it
		return
	}
	d.buf = append(buf[:0], buf[n:]...)
}

func (s *Stream) pruneMarks(d *dirState) {
	i := 0
	for i+1 < len(d.marks) && d.marks[i+1].pos <= d.off {
		i++
	}
	if i > 0 {
		d.marks = append(d.marks[:0], d.marks[i:]...)
	}
}

func (d *dirState) metaAt(pos int64) proto.Meta {
	var m proto.Meta
	for _, mk := range d.marks {
		if mk.pos > pos {
			break
		}
		m = mk.m
	}
	return m
}

// Gap reports n lost bytes: decryption of that direction ends (record
// boundaries and sequence numbers are lost with them).
func (s *Stream) Gap(dir proto.Dir, n int, m proto.Meta) {
	d := &s.d[dir&1]
	if d.stop != nil {
		return
	}
	s.stopDir(d, d.end, fmt.Errorf("%w: %d bytes", ErrGap, n))
}

// End stops every direction still running.
func (s *Stream) End(m proto.Meta) {
	for i := range s.d {
		d := &s.d[i]
		if d.stop != nil {
			continue
		}
		switch {
		case len(d.buf) > 0 && !s.haveSH && s.needsKeys(d, d.buf[0]):
			s.stopDir(d, d.off, ErrNoServerHello)
		case len(d.buf) > 0:
			s.stopDir(d, d.off, ErrTruncated)
		default:
			s.stopDir(d, d.off, ErrEnd)
		}
	}
}

func (s *Stream) stopDir(d *dirState, off int64, err error) {
	if d.stop != nil {
		return
	}
	d.stop = &StopError{Dir: d.dir, Offset: off, Records: d.records, Meta: d.metaAt(off), Err: err}
	d.buf, d.cands, d.cur, d.pending = nil, nil, nil, nil
	s.h.Stopped(d.stop)
}

func (s *Stream) stopBoth(err error) {
	for i := range s.d {
		s.stopDir(&s.d[i], s.d[i].off, err)
	}
}

// needsKeys reports whether a record of this type in d cannot be handled
// before the ServerHello is known.
func (s *Stream) needsKeys(d *dirState, typ byte) bool {
	return d.phase == phasePlain && (typ == typeApplicationData || typ == typeChangeCipherSpec && !s.hrr)
}

// maxRecord is the largest record payload accepted: 2^14 plus the
// TLS 1.2 expansion allowance (RFC 5246 section 6.2.3).
const maxRecord = 1<<14 + 2048

// process handles the complete records at the start of b and returns the
// number of bytes consumed.
func (s *Stream) process(d *dirState, b []byte) int {
	done := 0
	for d.stop == nil {
		rest := b[done:]
		if len(rest) < 5 {
			return done
		}
		typ, major := rest[0], rest[1]
		n := int(rest[3])<<8 | int(rest[4])
		if typ < typeChangeCipherSpec || typ > 24 || major != 3 || n > maxRecord {
			s.stopDir(d, d.off, fmt.Errorf("%w: record header %x", ErrMalformed, rest[:5]))
			return done
		}
		if len(rest) < 5+n {
			return done
		}
		if d.dir == proto.ToServer && !s.haveSH && s.needsKeys(d, typ) {
			return done // wait for the server's ServerHello
		}
		s.record(d, rest[:5], rest[5:5+n])
		d.off += int64(5 + n)
		done += 5 + n
	}
	return done
}

// record handles one complete record.
func (s *Stream) record(d *dirState, hdr, frag []byte) {
	typ := hdr[0]
	if d.phase == phasePlain {
		switch typ {
		case typeHandshake:
			if err := d.hs.feed(frag, func(t uint8, msg []byte) error { return s.plainHandshake(d, t, msg) }); err != nil {
				s.stopDir(d, d.off, err)
			}
		case typeChangeCipherSpec:
			if s.version == VersionTLS13 || !s.haveSH {
				return // TLS 1.3 middlebox compatibility (after a HelloRetryRequest: before the ServerHello)
			}
			if d.pending == nil {
				s.stopDir(d, d.off, ErrNoKey)
				return
			}
			d.cur = &candidate{c: d.pending}
			d.pending = nil
			d.phase = phaseApp
			d.hs = hsReader{max: s.lim.MaxHandshake}
		case typeAlert:
			s.alert(d, frag)
		case typeApplicationData:
			s.stopDir(d, d.off, fmt.Errorf("%w: application data before the keys", ErrMalformed))
		}
		return
	}
	if typ == typeChangeCipherSpec {
		if s.version == VersionTLS13 {
			return
		}
		s.stopDir(d, d.off, ErrRenegotiation)
		return
	}
	if s.version == VersionTLS13 && typ != typeApplicationData {
		if typ == typeAlert { // plaintext alert, e.g. before the peer had keys
			s.alert(d, frag)
			return
		}
		s.stopDir(d, d.off, fmt.Errorf("%w: TLS 1.3 record type %d", ErrMalformed, typ))
		return
	}
	inner, plain, err := s.open(d, hdr, frag)
	if err != nil {
		if errors.Is(err, errAuth) && d.cur == nil && d.skipped < s.lim.MaxSkipped && s.tryAppWithoutHandshake(d) {
			d.skipped++ // TLS 1.3 handshake record without handshake secrets
			return
		}
		if errors.Is(err, errAuth) {
			s.stopDir(d, d.off, ErrAuth)
		} else {
			s.stopDir(d, d.off, fmt.Errorf("%w: %v", ErrMalformed, err))
		}
		return
	}
	d.records++
	d.update, d.switchTo = false, d.phase
	switch inner {
	case typeApplicationData:
		if d.phase != phaseApp && !d.early {
			s.stopDir(d, d.off, fmt.Errorf("%w: application data under handshake keys", ErrMalformed))
			return
		}
		if len(plain) > 0 {
			if d.early {
				s.st.EarlyData = true
			}
			s.h.Plaintext(Chunk{Dir: d.dir, Data: plain, Offset: d.plainOff, Meta: d.metaAt(d.off), Early: d.early})
			d.plainOff += int64(len(plain))
			s.st.Bytes[d.dir] += int64(len(plain))
		}
	case typeHandshake:
		d.hs.cert = s.version == VersionTLS13 && d.dir == proto.ToClient
		if err := d.hs.feed(plain, func(t uint8, msg []byte) error { return s.encryptedHandshake(d, t, msg) }); err != nil {
			s.stopDir(d, d.off, err)
			return
		}
	case typeAlert:
		s.alert(d, plain)
		return
	default:
		s.stopDir(d, d.off, fmt.Errorf("%w: inner content type %d", ErrMalformed, inner))
		return
	}
	if d.stop == nil && s.version == VersionTLS13 {
		s.afterRecord13(d)
	}
}

// open decrypts with the current cipher, or tries the candidates and keeps
// the first that authenticates.
func (s *Stream) open(d *dirState, hdr, frag []byte) (uint8, []byte, error) {
	if d.cur != nil {
		typ, p, err := d.cur.c.open(s.out[:0], hdr, frag)
		if p != nil {
			s.out = p[:0]
		}
		return typ, p, err
	}
	for i := range d.cands {
		typ, p, err := d.cands[i].c.open(s.out[:0], hdr, frag)
		if err == nil {
			s.out = p[:0]
			c := d.cands[i]
			d.cur, d.cands = &c, nil
			d.early = c.early
			d.phase = c.phase
			return typ, p, nil
		}
		if !errors.Is(err, errAuth) {
			return 0, nil, err
		}
	}
	return 0, nil, errAuth
}

// tryAppWithoutHandshake: for TLS 1.3 sessions whose key log has traffic
// secrets but no handshake secrets, handshake records cannot be read and
// are skipped; the candidates become the application keys.
func (s *Stream) tryAppWithoutHandshake(d *dirState) bool {
	if s.version != VersionTLS13 || d.phase != phaseHandshake || s.hasHandshakeSecret(d.dir) {
		return false
	}
	return len(d.cands) > 0
}

func (s *Stream) hasHandshakeSecret(dir proto.Dir) bool {
	if dir == proto.ToServer {
		return s.secrets.Has(keylog.ClientHandshakeTrafficSecret)
	}
	return s.secrets.Has(keylog.ServerHandshakeTrafficSecret)
}

// alert handles an alert record's plaintext.
func (s *Stream) alert(d *dirState, p []byte) {
	if len(p) < 2 {
		s.stopDir(d, d.off, fmt.Errorf("%w: short alert", ErrMalformed))
		return
	}
	if p[1] == 0 { // close_notify
		s.stopDir(d, d.off, ErrClosed)
		return
	}
	if p[0] == 2 || s.version == VersionTLS13 {
		s.stopDir(d, d.off, fmt.Errorf("%w %d", ErrAlert, p[1]))
	}
}

// Handshake message types used here.
const (
	hsClientHello     = 1
	hsServerHello     = 2
	hsNewSessionTick  = 4
	hsEndOfEarlyData  = 5
	hsFinished        = 20
	hsKeyUpdate       = 24
	extEncryptThenMAC = 22
	extEarlyData      = 42
)

// plainHandshake handles a handshake message sent in clear.
func (s *Stream) plainHandshake(d *dirState, typ uint8, msg []byte) error {
	switch {
	case typ == hsClientHello && d.dir == proto.ToServer:
		if len(msg) < 38 {
			return fmt.Errorf("%w: short ClientHello", ErrMalformed)
		}
		ch, err := ptls.ParseClientHello(msg)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		copy(s.cr[:], msg[6:38])
		s.haveCH = true
		s.offer0 = false
		for _, e := range ch.Extensions {
			if e == extEarlyData {
				s.offer0 = true
			}
		}
	case typ == hsServerHello && d.dir == proto.ToClient:
		if len(msg) < 38 {
			return fmt.Errorf("%w: short ServerHello", ErrMalformed)
		}
		sh, err := ptls.ParseServerHello(msg)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if sh.HelloRetry {
			// TLS 1.3: the client's ChangeCipherSpec and second ClientHello
			// follow in clear; let them through.
			s.hrr = true
			s.drain(&s.d[proto.ToServer])
			return nil
		}
		copy(s.sr[:], msg[6:38])
		s.serverHello(sh)
	}
	return nil
}

// serverHello sets up the keys once both hellos are known.
func (s *Stream) serverHello(sh *ptls.ServerHello) {
	s.haveSH = true
	s.version, s.st.Version, s.st.Suite = sh.Version, sh.Version, sh.CipherSuite
	for _, e := range sh.Extensions {
		if e == extEncryptThenMAC {
			s.etm = true
		}
	}
	su, ok := suites[sh.CipherSuite]
	if !ok || su.tls13 != (sh.Version == VersionTLS13) || sh.Version < VersionTLS10 || sh.Version > VersionTLS13 {
		s.stopBoth(fmt.Errorf("%w: %s, suite %#04x", ErrUnsupported, ptls.VersionName(sh.Version), sh.CipherSuite))
		return
	}
	s.suite = su
	if !s.haveCH {
		s.stopBoth(ErrMidstream)
		return
	}
	sec, ok := s.keys.Lookup(s.cr)
	if !ok {
		s.stopBoth(ErrNoKey)
		return
	}
	s.secrets = sec
	c, sv := &s.d[proto.ToServer], &s.d[proto.ToClient]
	if s.version == VersionTLS13 {
		s.setup13(c, sv)
	} else {
		s.setup12(c, sv)
	}
	if c.stop == nil || sv.stop == nil {
		s.st.KeyFound = true
	}
	s.drain(c) // client records that waited for this ServerHello
}

func (s *Stream) setup12(c, sv *dirState) {
	masters := s.secrets.Get(keylog.ClientRandom)
	if len(masters) == 0 {
		s.stopBoth(ErrNoKey)
		return
	}
	// Several logged master secrets: the first is used (a key log has
	// one per client random unless it was edited).
	cc, scph, err := keys12(s.suite, s.version, masters[0].Bytes(), s.cr, s.sr, s.etm && s.suite.kind == kindCBC)
	if err != nil {
		s.stopBoth(fmt.Errorf("%w: %v", ErrUnsupported, err))
		return
	}
	if len(masters) > 1 {
		// Let the records choose: keep all candidates until one authenticates.
		c.pending, sv.pending = &trial12{s: s, masters: masters}, &trial12{s: s, masters: masters, server: true}
		return
	}
	c.pending, sv.pending = cc, scph
}

func (s *Stream) setup13(c, sv *dirState) {
	for _, x := range []struct {
		d         *dirState
		hs, app   keylog.Label
		withEarly bool
	}{
		{c, keylog.ClientHandshakeTrafficSecret, keylog.ClientTrafficSecret0, true},
		{sv, keylog.ServerHandshakeTrafficSecret, keylog.ServerTrafficSecret0, false},
	} {
		x.d.phase = phaseHandshake
		var cands []candidate
		if x.withEarly && s.offer0 {
			cands = s.candidates(keylog.ClientEarlyTrafficSecret, true, phaseHandshake)
		}
		cands = append(cands, s.candidates(x.hs, false, phaseHandshake)...)
		if !s.secrets.Has(x.hs) {
			// No handshake secrets: handshake records are skipped and the
			// application keys tried on each record.
			cands = append(cands, s.candidates(x.app, false, phaseApp)...)
		}
		if len(cands) == 0 {
			s.stopDir(x.d, x.d.off, ErrNoKey)
			continue
		}
		x.d.cands = cands
	}
}

func (s *Stream) candidates(l keylog.Label, early bool, ph phase) []candidate {
	var out []candidate
	for _, sec := range s.secrets.Get(l) {
		if sec.Len() != s.suite.hash.Size() {
			continue
		}
		c, err := keys13(s.suite, sec.Bytes())
		if err != nil {
			continue
		}
		out = append(out, candidate{c: c, secret: sec.Bytes(), early: early, phase: ph})
	}
	return out
}

// encryptedHandshake notes the TLS 1.3 messages that change keys, and
// hands the server's Certificate (msg, the whole message) to a
// CertificateHandler.
func (s *Stream) encryptedHandshake(d *dirState, typ uint8, msg []byte) error {
	if s.version != VersionTLS13 {
		if typ == hsClientHello || typ == hsServerHello || typ == 0 /* HelloRequest */ {
			return ErrRenegotiation
		}
		return nil
	}
	switch typ {
	case ptls.TypeCertificate, ptls.TypeCompressedCertificate:
		if ch, ok := s.h.(CertificateHandler); ok && msg != nil && d.dir == proto.ToClient && !s.certSeen {
			s.certSeen = true
			ch.Certificate(msg, d.metaAt(d.off))
		}
	case hsFinished:
		if d.phase == phaseHandshake && !d.early {
			d.switchTo = phaseApp
		}
	case hsEndOfEarlyData:
		d.early = false
		d.switchTo = phaseHandshake
	case hsKeyUpdate:
		if d.phase == phaseApp {
			d.update = true
		}
	}
	return nil
}

// afterRecord13 changes keys at the record boundary after a Finished,
// EndOfEarlyData or KeyUpdate message.
func (s *Stream) afterRecord13(d *dirState) {
	if d.cur != nil && !d.cur.early && d.phase == phaseHandshake && d.switchTo == phaseApp {
		app := keylog.ClientTrafficSecret0
		if d.dir == proto.ToClient {
			app = keylog.ServerTrafficSecret0
		}
		d.phase = phaseApp
		d.cands, d.cur = s.candidates(app, false, phaseApp), nil
		if len(d.cands) == 0 {
			s.stopDir(d, d.off, ErrNoKey)
		}
		return
	}
	if d.cur != nil && d.cur.early && d.switchTo == phaseHandshake {
		d.cands, d.cur, d.early = s.candidates(keylog.ClientHandshakeTrafficSecret, false, phaseHandshake), nil, false
		if len(d.cands) == 0 {
			s.stopDir(d, d.off, ErrNoKey)
		}
		return
	}
	if d.update && d.cur != nil {
		next, err := nextSecret(s.suite, d.cur.secret)
		if err == nil {
			var c *aead13
			c, err = keys13(s.suite, next)
			if err == nil {
				d.cur = &candidate{c: c, secret: next, phase: phaseApp}
				return
			}
		}
		s.stopDir(d, d.off, fmt.Errorf("%w: key update: %v", ErrUnsupported, err))
	}
}

// trial12 holds TLS 1.2 ciphers for several logged master secrets and keeps
// the first that authenticates a record.
type trial12 struct {
	s       *Stream
	masters []keylog.Secret
	server  bool
	cs      []recordCipher
	won     recordCipher
}

func (t *trial12) open(dst, hdr, frag []byte) (uint8, []byte, error) {
	if t.won != nil {
		return t.won.open(dst, hdr, frag)
	}
	if t.cs == nil {
		for _, m := range t.masters {
			c, sv, err := keys12(t.s.suite, t.s.version, m.Bytes(), t.s.cr, t.s.sr, t.s.etm && t.s.suite.kind == kindCBC)
			if err != nil {
				continue
			}
			if t.server {
				t.cs = append(t.cs, sv)
			} else {
				t.cs = append(t.cs, c)
			}
		}
	}
	for _, c := range t.cs {
		typ, p, err := c.open(dst, hdr, frag)
		if err == nil {
			t.won, t.cs = c, nil
			return typ, p, nil
		}
	}
	return 0, nil, errAuth
}
