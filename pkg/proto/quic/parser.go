package quic

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"

	"golang.org/x/crypto/cryptobyte"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/tls"
)

// Limits bound a Parser's memory.
type Limits struct {
	// MaxCrypto is the largest Initial CRYPTO stream reassembled per
	// direction (a ClientHello with post-quantum key shares is ~2 KiB).
	MaxCrypto int
	// MaxFragments caps the out-of-order CRYPTO ranges kept per direction.
	MaxFragments int
	// MaxConns caps the connections tracked per flow; the oldest is
	// emitted early when a new one arrives.
	MaxConns int
}

// DefaultLimits returns the limits used by NewParser.
func DefaultLimits() Limits { return Limits{MaxCrypto: 1 << 16, MaxFragments: 64, MaxConns: 4} }

// maxNotes caps Connection.Notes.
const maxNotes = 8

// Connection is the Fields of a "quic" event: what the Initial packets of
// one QUIC connection revealed. [0] is client to server ("up"), [1] the
// reverse.
type Connection struct {
	Version            string               `json:"version"`      // v1, v2, draft-29, gquic-Q043...
	VersionCode        uint32               `json:"version_code"` // on the wire
	DCID               string               `json:"dcid,omitempty"`
	SCID               string               `json:"scid,omitempty"`
	SNI                string               `json:"sni,omitempty"`
	ALPN               []string             `json:"alpn,omitempty"`
	ClientHello        *tls.ClientHelloInfo `json:"client_hello,omitempty"`
	ServerHello        *tls.ServerHelloInfo `json:"server_hello,omitempty"`
	Retry              bool                 `json:"retry,omitempty"`
	RetrySCID          string               `json:"retry_scid,omitempty"`
	ServerVersions     []string             `json:"server_versions,omitempty"`  // from Version Negotiation
	GQUICUserAgent     string               `json:"gquic_user_agent,omitempty"` // UAID tag of a gQUIC CHLO
	Close              *Close               `json:"close,omitempty"`
	Datagrams          [2]uint64            `json:"datagrams"`
	InitialPackets     [2]uint64            `json:"initial_packets"`
	UndecryptedInitial [2]uint64            `json:"undecrypted_initial"`
	HandshakePackets   [2]uint64            `json:"handshake_packets"`
	ShortPackets       [2]uint64            `json:"short_packets"`
	// The server's certificate chain, sent in Handshake packets: known
	// only when a key log decrypted them (pkg/quicdecrypt), then checked
	// as a TLS session's (pkg/proto/tls).
	CertificateFrame uint64            `json:"certificate_frame,omitempty"`
	Certificates     []tls.Certificate `json:"certificates,omitempty"`
	NameMismatch     bool              `json:"name_mismatch,omitempty"` // leaf does not cover SNI
	Findings         []tls.Finding     `json:"findings,omitempty"`
	Notes            []string          `json:"notes,omitempty"`
}

// Close is a CONNECTION_CLOSE frame seen in an Initial packet.
type Close struct {
	Frame  uint64 `json:"frame"`
	Dir    string `json:"dir"`
	Code   uint64 `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// Parser decodes one UDP flow's QUIC datagrams. It is not safe for
// concurrent use.
type Parser struct {
	sink  proto.Sink
	lim   Limits
	conns []*conn
	ended bool
}

type conn struct {
	vi      versionInfo
	dcid    []byte // DCID the current Initial keys derive from
	client  *keys
	server  *keys
	largest [2]int64
	crypto  [2]cryptoBuf
	// retrySCIDs are the SCIDs of the Retry packets seen; the client's
	// next Initial goes to one of them, under keys derived from it.
	retrySCIDs [][]byte
	followed   bool // the client followed a Retry (accepts at most one)
	first      proto.Meta
	started    bool
	chain      *tls.ServerChain // from DecryptedCertificate
	ev         Connection
}

// maxCIDs caps conn.retrySCIDs.
const maxCIDs = 4

// addCID appends a copy of cid to *list unless it is there or the list is
// full.
func addCID(list *[][]byte, cid []byte) {
	if len(cid) == 0 || len(*list) >= maxCIDs || hasCID(*list, cid) {
		return
	}
	*list = append(*list, bytes.Clone(cid))
}

func hasCID(list [][]byte, cid []byte) bool {
	for _, c := range list {
		if bytes.Equal(c, cid) {
			return true
		}
	}
	return false
}

// NewParser returns a parser that reports each connection to sink as a
// "quic" event whose fields are its *Connection (when the flow ends, or
// early when MaxConns newer ones arrive), and offers the server name of the
// latest connection with one at End. A nil sink is told nothing.
func NewParser(sink proto.Sink) *Parser { return NewParserLimits(sink, DefaultLimits()) }

// NewParserLimits is NewParser with explicit limits.
func NewParserLimits(sink proto.Sink, lim Limits) *Parser {
	return &Parser{sink: sink, lim: lim}
}

// Spec describes QUIC to the engine: a datagram protocol detected by its
// long header (or gQUIC's public header) that owns the whole flow, since
// its short-header packets do not look like QUIC.
func Spec() proto.Spec {
	return proto.Spec{
		Name: "quic", Channel: "QUIC", Datagram: true, WholeFlow: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if Detect(in.Up) || Detect(in.Down) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder { return NewParser(s) },
	}
}

// Connections returns the connections decoded so far and not yet emitted.
func (p *Parser) Connections() []*Connection {
	out := make([]*Connection, len(p.conns))
	for i, c := range p.conns {
		out[i] = &c.ev
	}
	return out
}

// SNI returns the server name of the latest connection with one, or "".
func (p *Parser) SNI() string {
	for i := len(p.conns) - 1; i >= 0; i-- {
		if p.conns[i].ev.SNI != "" {
			return p.conns[i].ev.SNI
		}
	}
	return ""
}

func (c *conn) note(s string) {
	if len(c.ev.Notes) < maxNotes {
		c.ev.Notes = append(c.ev.Notes, s)
	}
}

// current returns the newest connection, or nil.
func (p *Parser) current() *conn {
	if len(p.conns) == 0 {
		return nil
	}
	return p.conns[len(p.conns)-1]
}

func (p *Parser) newConn(version uint32, vi versionInfo, m proto.Meta) *conn {
	if len(p.conns) >= max(p.lim.MaxConns, 1) {
		p.emitConn(p.conns[0])
		p.conns = p.conns[1:]
	}
	c := &conn{vi: vi, largest: [2]int64{-1, -1}, first: m}
	c.ev.Version = VersionName(version)
	c.ev.VersionCode = version
	p.conns = append(p.conns, c)
	return c
}

// Datagram decodes one UDP payload sent in direction dir.
func (p *Parser) Datagram(dir proto.Dir, payload []byte, m proto.Meta) {
	if p.ended || dir > proto.ToClient {
		return
	}
	defer func() {
		if c := p.current(); c != nil {
			c.ev.Datagrams[dir]++
		}
	}()
	for len(payload) > 0 {
		if payload[0]&0x80 == 0 {
			if v, ok := gquicVersion(payload); ok && dir == proto.ToServer {
				p.gquic(v, payload, m)
			} else if c := p.current(); c != nil {
				c.ev.ShortPackets[dir]++
			}
			return
		}
		if len(payload) >= 5 {
			if v := uint32(payload[1])<<24 | uint32(payload[2])<<16 | uint32(payload[3])<<8 | uint32(payload[4]); isGQUIC(v) {
				if dir == proto.ToServer {
					p.gquic(v, payload, m)
				}
				return
			}
		}
		h, ok := parseLongHeader(payload)
		if !ok {
			return
		}
		if h.version == 0 {
			p.versionNegotiation(h, m)
			return
		}
		vi, known := lookupVersion(h.version)
		if !known {
			return
		}
		if len(h.dcid) > 20 || len(h.scid) > 20 {
			return
		}
		typ := h.first >> 4 & 0x03
		if typ == vi.retryType {
			p.retry(h, dir, m)
			return
		}
		s := cryptobyte.String(h.rest)
		if typ == vi.initialType {
			var token cryptobyte.String
			var tokenLen uint64
			if !readVarint(&s, &tokenLen) || tokenLen > uint64(len(s)) || !s.ReadBytes((*[]byte)(&token), int(tokenLen)) {
				return
			}
		}
		var length uint64
		if !readVarint(&s, &length) || length > uint64(len(s)) {
			return
		}
		pnOff := len(payload) - len(s)
		end := pnOff + int(length)
		if typ == vi.initialType {
			p.initial(dir, h, vi, payload[:end], pnOff, m)
		} else if c := p.current(); c != nil {
			c.ev.HandshakePackets[dir]++
		}
		payload = payload[end:]
	}
}

// initial decrypts and decodes one Initial packet.
func (p *Parser) initial(dir proto.Dir, h longHeader, vi versionInfo, pkt []byte, pnOff int, m proto.Meta) {
	c := p.current()
	if dir == proto.ToServer {
		// A client Initial: keys come from the DCID of its first one
		// (or of a Retry's SCID). A later one goes to the server's chosen
		// CID (RFC 9000 section 7.2), or to one the server gave in a
		// NEW_CONNECTION_ID frame, under the same keys: a packet that
		// opens under a connection's keys is that connection's. One that
		// goes to a Retry's SCID follows the Retry, under new keys; any
		// other is a new connection reusing the flow.
		if c == nil || c.ev.VersionCode != h.version || !bytes.Equal(c.dcid, h.dcid) {
			switch {
			case c != nil && c.ev.VersionCode == h.version && !c.followed && hasCID(c.retrySCIDs, h.dcid):
				c.followed = true
				c.ev.RetrySCID = hex.EncodeToString(h.dcid)
				c.setKeys(vi, h.dcid)
			case p.tryExisting(dir, h, pkt, pnOff, m):
				return
			default:
				c = p.newConn(h.version, vi, m)
				c.ev.DCID = hex.EncodeToString(h.dcid)
				c.ev.SCID = hex.EncodeToString(h.scid)
				c.setKeys(vi, h.dcid)
			}
		}
	}
	if c == nil || c.client == nil {
		return // server Initial before any client Initial: no keys
	}
	c.ev.InitialPackets[dir]++
	k := c.client
	if dir == proto.ToClient {
		k = c.server
	}
	pn, plain, err := k.open(pkt, pnOff, c.largest[dir])
	if err != nil {
		c.ev.UndecryptedInitial[dir]++
		return
	}
	if int64(pn) > c.largest[dir] {
		c.largest[dir] = int64(pn)
	}
	if !c.started {
		c.started = true
	}
	p.frames(c, dir, plain, m)
}

// tryExisting decodes a client Initial whose DCID differs from the current
// connection's (or whose version does) with the keys of the connections of
// its version, newest first: a later Initial to the server's CID, or a
// late retransmission to an older connection. It reports whether one
// opened it (the AEAD tag authenticates the keys, and so the connection).
func (p *Parser) tryExisting(dir proto.Dir, h longHeader, pkt []byte, pnOff int, m proto.Meta) bool {
	for i := len(p.conns) - 1; i >= 0; i-- {
		c := p.conns[i]
		if c.client == nil || c.ev.VersionCode != h.version {
			continue
		}
		if pn, plain, err := c.client.open(pkt, pnOff, c.largest[dir]); err == nil {
			c.ev.InitialPackets[dir]++
			if int64(pn) > c.largest[dir] {
				c.largest[dir] = int64(pn)
			}
			p.frames(c, dir, plain, m)
			return true
		}
	}
	return false
}

func (c *conn) setKeys(vi versionInfo, dcid []byte) {
	client, server, err := initialKeys(vi, dcid)
	if err != nil {
		c.note("initial keys: " + err.Error())
		return
	}
	c.vi, c.client, c.server = vi, client, server
	c.dcid = bytes.Clone(dcid)
	c.largest = [2]int64{-1, -1}
}

// retry records a Retry packet: the client's next Initial uses the Retry's
// SCID as DCID. A client follows at most one Retry (RFC 9000 section
// 17.2.5.2); when several arrive, the one it followed is known from its
// next Initial, and RetrySCID names the first until then.
func (p *Parser) retry(h longHeader, dir proto.Dir, m proto.Meta) {
	c := p.current()
	if c == nil || dir != proto.ToClient || c.followed {
		return
	}
	c.ev.Retry = true
	addCID(&c.retrySCIDs, h.scid)
	if c.ev.RetrySCID == "" {
		c.ev.RetrySCID = hex.EncodeToString(h.scid)
	}
}

// versionNegotiation records the versions a server offered.
func (p *Parser) versionNegotiation(h longHeader, m proto.Meta) {
	c := p.current()
	if c == nil {
		c = p.newConn(0, versionInfo{}, m)
	}
	if c.ev.ServerVersions != nil {
		return
	}
	c.ev.ServerVersions = []string{}
	rest := h.rest
	for len(rest) >= 4 && len(c.ev.ServerVersions) < 32 {
		v := uint32(rest[0])<<24 | uint32(rest[1])<<16 | uint32(rest[2])<<8 | uint32(rest[3])
		c.ev.ServerVersions = append(c.ev.ServerVersions, VersionName(v))
		rest = rest[4:]
	}
}

// frames walks the frames of a decrypted Initial payload.
func (p *Parser) frames(c *conn, dir proto.Dir, b []byte, m proto.Meta) {
	s := cryptobyte.String(b)
	for !s.Empty() {
		var typ uint64
		if !readVarint(&s, &typ) {
			return
		}
		switch {
		case typ == 0x00 || typ == 0x01: // PADDING, PING
		case typ == 0x02 || typ == 0x03: // ACK
			var largest, delay, count, first uint64
			if !readVarint(&s, &largest) || !readVarint(&s, &delay) || !readVarint(&s, &count) || !readVarint(&s, &first) {
				return
			}
			n := count * 2
			if typ == 0x03 {
				n += 3
			}
			if !skipVarints(&s, n) {
				return
			}
		case typ == 0x06: // CRYPTO
			var off, n uint64
			var data []byte
			if !readVarint(&s, &off) || !readVarint(&s, &n) || n > uint64(len(s)) || !s.ReadBytes(&data, int(n)) {
				return
			}
			p.crypto(c, dir, off, data, m)
		case typ == 0x1c || typ == 0x1d: // CONNECTION_CLOSE
			var code, ft, n uint64
			var reason []byte
			if !readVarint(&s, &code) || typ == 0x1c && !readVarint(&s, &ft) || !readVarint(&s, &n) || n > uint64(len(s)) || !s.ReadBytes(&reason, int(n)) {
				return
			}
			if c.ev.Close == nil {
				c.ev.Close = &Close{Frame: m.Frame, Dir: dir.String(), Code: code, Reason: string(reason[:min(len(reason), 256)])}
			}
		default:
			if !skipFrame(&s, typ) {
				c.note(fmt.Sprintf("frame %d: unknown frame type %#x in Initial", m.Frame, typ))
				return
			}
		}
	}
}

func skipVarints(s *cryptobyte.String, n uint64) bool {
	var v uint64
	for i := uint64(0); i < n; i++ {
		if !readVarint(s, &v) {
			return false
		}
	}
	return true
}

// skipFrame skips the body of a frame that may not appear in Initial
// packets but has a parsable length (RFC 9000 section 19, RFC 9221).
func skipFrame(s *cryptobyte.String, typ uint64) bool {
	var n uint64
	skipBytes := func() bool {
		return readVarint(s, &n) && n <= uint64(len(*s)) && s.Skip(int(n))
	}
	switch {
	case typ == 0x04: // RESET_STREAM
		return skipVarints(s, 3)
	case typ == 0x05: // STOP_SENDING
		return skipVarints(s, 2)
	case typ == 0x07: // NEW_TOKEN
		return skipBytes()
	case typ >= 0x08 && typ <= 0x0f: // STREAM
		if !skipVarints(s, 1) {
			return false
		}
		if typ&0x04 != 0 && !skipVarints(s, 1) {
			return false
		}
		if typ&0x02 != 0 {
			return skipBytes()
		}
		*s = (*s)[len(*s):]
		return true
	case typ == 0x10, typ == 0x12, typ == 0x13, typ == 0x14, typ == 0x16, typ == 0x17, typ == 0x19: // MAX_DATA, MAX_STREAMS, DATA_BLOCKED, STREAMS_BLOCKED, RETIRE_CONNECTION_ID
		return skipVarints(s, 1)
	case typ == 0x11, typ == 0x15: // MAX_STREAM_DATA, STREAM_DATA_BLOCKED
		return skipVarints(s, 2)
	case typ == 0x18: // NEW_CONNECTION_ID
		var l uint8
		return skipVarints(s, 2) && s.ReadUint8(&l) && l <= 20 && s.Skip(int(l)) && s.Skip(16)
	case typ == 0x1a, typ == 0x1b: // PATH_CHALLENGE, PATH_RESPONSE
		return s.Skip(8)
	case typ == 0x1e: // HANDSHAKE_DONE
		return true
	case typ == 0x30: // DATAGRAM without length
		*s = (*s)[len(*s):]
		return true
	case typ == 0x31: // DATAGRAM
		return skipBytes()
	}
	return false
}

// crypto adds CRYPTO data and parses the hello once it is complete.
func (p *Parser) crypto(c *conn, dir proto.Dir, off uint64, data []byte, m proto.Meta) {
	cb := &c.crypto[dir]
	if cb.done {
		return
	}
	if !cb.add(off, data, p.lim) {
		c.note(fmt.Sprintf("frame %d: CRYPTO data beyond caps dropped", m.Frame))
	}
	if cb.firstFrame == 0 && off == 0 {
		cb.firstFrame = m.Frame
	}
	msg, ok := cb.message(p.lim)
	if !ok {
		return
	}
	cb.done = true
	cb.buf, cb.spans = nil, nil
	if msg == nil {
		c.note(fmt.Sprintf("%s: handshake message larger than %d bytes", dir, p.lim.MaxCrypto))
		return
	}
	if dir == proto.ToServer {
		ch, err := tls.ParseClientHello(msg)
		if err != nil {
			c.note(fmt.Sprintf("frame %d: %v", m.Frame, err))
			return
		}
		info := tls.NewClientHelloInfo(ch, m.Frame, tls.JA4QUIC)
		c.ev.ClientHello = &info
		c.ev.SNI = ch.SNI
		c.ev.ALPN = ch.ALPN
		return
	}
	sh, err := tls.ParseServerHello(msg)
	if err != nil {
		c.note(fmt.Sprintf("frame %d: %v", m.Frame, err))
		return
	}
	c.ev.ServerHello = &tls.ServerHelloInfo{Frame: m.Frame, ServerHello: *sh}
}

// cryptoBuf reassembles the start of an Initial CRYPTO stream.
type cryptoBuf struct {
	buf        []byte
	spans      []span // filled ranges, sorted, disjoint
	done       bool
	firstFrame uint64
}

type span struct{ start, end int }

// add stores data at off; it reports false if some of it was beyond caps.
func (cb *cryptoBuf) add(off uint64, data []byte, lim Limits) bool {
	if off >= uint64(lim.MaxCrypto) {
		return len(data) == 0
	}
	start := int(off)
	end := start + len(data)
	ok := true
	if end > lim.MaxCrypto {
		end, ok = lim.MaxCrypto, false
		data = data[:end-start]
	}
	if end <= start {
		return ok
	}
	if len(cb.spans) >= lim.MaxFragments {
		return false
	}
	if end > len(cb.buf) {
		cb.buf = append(cb.buf, make([]byte, end-len(cb.buf))...)
	}
	copy(cb.buf[start:end], data)
	cb.spans = append(cb.spans, span{start, end})
	sort.Slice(cb.spans, func(i, j int) bool { return cb.spans[i].start < cb.spans[j].start })
	merged := cb.spans[:1]
	for _, sp := range cb.spans[1:] {
		last := &merged[len(merged)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
		} else {
			merged = append(merged, sp)
		}
	}
	cb.spans = merged
	return ok
}

// message returns the first handshake message once it is contiguous. ok
// with a nil message means it can never fit the caps.
func (cb *cryptoBuf) message(lim Limits) (msg []byte, ok bool) {
	if len(cb.spans) == 0 || cb.spans[0].start != 0 || cb.spans[0].end < 4 {
		return nil, false
	}
	n := 4 + (int(cb.buf[1])<<16 | int(cb.buf[2])<<8 | int(cb.buf[3]))
	if n > lim.MaxCrypto {
		return nil, true
	}
	if cb.spans[0].end < n {
		return nil, false
	}
	return cb.buf[:n], true
}

// End emits the remaining connections. The Parser ignores later calls.
func (p *Parser) End(m proto.Meta) {
	if p.ended {
		return
	}
	p.ended = true
	if sni := p.SNI(); sni != "" && p.sink != nil {
		p.sink.Name(proto.Name{Name: sni, Source: proto.FromQUICSNI, Frame: m.Frame})
	}
	for _, c := range p.conns {
		p.emitConn(c)
	}
	p.conns = nil
}

// DecryptedCertificate hands the server's TLS 1.3 Certificate message, or
// the CompressedCertificate sent in its place (RFC 8879, decompressed by
// package tls), header first, which a key log decrypted from its
// Handshake packets (pkg/quicdecrypt), to the newest connection with a
// ClientHello: the hello the server answered. m is where it was read. The
// chain goes into the quic event and gets the checks of a TLS session's
// chain (self-signed, expired, not yet valid, not covering the SNI,
// unparsable). The first chain of a connection wins; calls after End do
// nothing.
func (p *Parser) DecryptedCertificate(msg []byte, m proto.Meta) {
	c := p.current()
	for i := len(p.conns) - 1; i >= 0; i-- {
		if p.conns[i].ev.ClientHello != nil {
			c = p.conns[i]
			break
		}
	}
	if p.ended || c == nil || c.chain != nil {
		return
	}
	ch := tls.ReadServerChain13(msg, m)
	c.chain = &ch
	c.ev.CertificateFrame = ch.Frame
	c.ev.Certificates = ch.Certificates
	if ch.Err != nil {
		c.note(fmt.Sprintf("frame %d: %v", m.Frame, ch.Err))
	}
}

func (p *Parser) emitConn(c *conn) {
	switch {
	case c.chain != nil:
		c.ev.NameMismatch = c.chain.NameMismatch(c.ev.SNI)
		c.ev.Findings = tls.Findings(c.ev.ClientHello, c.ev.ServerHello, c.ev.Certificates, c.ev.NameMismatch, c.ev.CertificateFrame)
	case c.ev.ClientHello != nil:
		c.ev.Findings = tls.Findings(c.ev.ClientHello, c.ev.ServerHello, nil, false, 0)
	}
	if p.sink == nil {
		return
	}
	p.sink.Emit("quic", c.first, &c.ev)
	for _, fi := range c.ev.Findings {
		// Raised as TLS's are (pkg/proto/tls Stream.End): dated at the
		// flow's start by the engine, kept in the event too.
		p.sink.Finding(proto.Finding{Kind: fi.Kind, Severity: fi.Severity, Message: fi.Message, Frame: fi.Frame})
	}
}
