// Package quicdecrypt decrypts QUIC v1 and v2 connections (RFC 9000,
// RFC 9001, RFC 9369) with the TLS 1.3 secrets of a key log: it reads the
// Initial packets for the ClientHello's random and the ServerHello's cipher
// suite, then removes header protection from 1-RTT packets, recovers
// packet numbers, follows key updates (key phase) and hands on the STREAM
// frames' bytes per stream, in order.
//
// The server's Handshake packets are decrypted for its TLS Certificate
// message, which a Handler that is also a CertificateHandler receives;
// the client's Handshake packets and 0-RTT packets are not decrypted
// (counted as skipped).
package quicdecrypt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/quic"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// Handler receives what a Conn decrypts. Stream data is in order per
// stream and direction; data is valid only during the call.
type Handler interface {
	StreamData(dir proto.Dir, id uint64, data []byte, m proto.Meta)
	// StreamGap reports n bytes of a stream that did not arrive within the
	// reassembly budget; the stream continues after them.
	StreamGap(dir proto.Dir, id uint64, n uint64, m proto.Meta)
	// StreamEnd reports that the sender finished the stream (FIN).
	StreamEnd(dir proto.Dir, id uint64, m proto.Meta)
}

// CertificateHandler is what a Handler may also be: it then receives the
// server's Certificate message (TLS 1.3 layout, header first), or the
// CompressedCertificate sent in its place (RFC 8879, type 25), from the
// decrypted Handshake packets, once, with the Meta of the datagram that
// completed it.
type CertificateHandler interface {
	Certificate(msg []byte, m proto.Meta)
}

// Reasons a connection is not (or not fully) decrypted; Status.Err holds
// one per direction.
var (
	ErrNoKey       = errors.New("no key in the key log for this connection")
	ErrNoHello     = errors.New("no ClientHello seen: connection unknown")
	ErrUnsupported = errors.New("QUIC version or cipher suite not supported")
	ErrAuth        = errors.New("1-RTT packets failed authentication (wrong key?)")
	ErrLimit       = errors.New("limit reached")
)

// Limits bound a Conn's memory.
type Limits struct {
	MaxCrypto  int // bytes of the Initial CRYPTO stream kept per direction (default 64 KiB)
	MaxPending int // out-of-order stream bytes held per connection (default 1 MiB)
	MaxStreams int // streams tracked per direction (default 1024)
}

// DefaultLimits are generous for real connections.
func DefaultLimits() Limits {
	return Limits{MaxCrypto: 64 << 10, MaxPending: 1 << 20, MaxStreams: 1024}
}

// Status summarises a connection.
type Status struct {
	Version     uint32
	Suite       uint16
	KeyFound    bool
	Decrypted   [2]int // 1-RTT packets decrypted per direction
	Failed      [2]int // 1-RTT packets that did not authenticate
	KeyUpdates  [2]int
	Handshake   [2]int // Handshake packets decrypted (the server's, for its certificate)
	Skipped     [2]int // Handshake and 0-RTT packets not decrypted
	Waiting     [2]int // 1-RTT packets seen before their keys could be known (no ClientHello, no key, no CID yet)
	StreamBytes [2]int64
	Err         [2]error // why a direction was not decrypted; nil when it was
}

type candidate struct {
	s suite
	k *keys
	h hpMask
}

type dirState struct {
	initK        *keys
	initHP       hpMask
	initPN       int64
	crypto       reasm
	cryptoBudget int    // out-of-order Initial CRYPTO bytes that may still be held
	hsBuf        []byte // in-order Initial CRYPTO bytes
	hsDone       bool
	cands        []candidate // 1-RTT keys not yet confirmed
	cur          *keys
	prev         *keys
	nextK        *keys
	hp           hpMask
	phase        uint8 // key phase bit of cur
	largest      int64
	streams      map[uint64]*reasm
	cidLen       int // length of the CID this side puts in the SCID (its peer's DCID in short headers)
	haveCID      bool
	streamsN     int
	hs           hsState // Handshake packets (the server's)
}

// hsState reads the server's Handshake packets up to its Certificate
// message.
type hsState struct {
	k      *keys
	hp     hpMask
	cands  []candidate // keys not yet confirmed
	tried  bool        // cands were made
	pn     int64
	crypto reasm
	budget int    // out-of-order Handshake CRYPTO bytes that may still be held
	buf    []byte // in-order Handshake CRYPTO bytes not yet read as messages
	done   bool   // the Certificate was handed on, or reading stopped
}

// Conn decrypts one QUIC connection (one UDP flow).
type Conn struct {
	keys    *keylog.Log
	h       Handler
	lim     Limits
	d       [2]dirState
	v       version
	haveV   bool
	dcid    []byte // client's first DCID (Initial keys)
	cr      [32]byte
	haveCR  bool
	suite   suite
	haveSu  bool
	secrets *keylog.Secrets
	alpn    []string // offered in the ClientHello
	looked  bool
	budget  int
	st      Status
	hdr     []byte
	out     []byte
}

// New returns a Conn that looks secrets up in keys.
func New(keys *keylog.Log, h Handler, lim Limits) *Conn {
	def := DefaultLimits()
	if lim.MaxCrypto <= 0 {
		lim.MaxCrypto = def.MaxCrypto
	}
	if lim.MaxPending <= 0 {
		lim.MaxPending = def.MaxPending
	}
	if lim.MaxStreams <= 0 {
		lim.MaxStreams = def.MaxStreams
	}
	c := &Conn{keys: keys, h: h, lim: lim, budget: lim.MaxPending}
	for i := range c.d {
		c.d[i].initPN, c.d[i].largest = -1, -1
		c.d[i].cryptoBudget = lim.MaxCrypto
		c.d[i].streams = map[uint64]*reasm{}
		c.d[i].hs.pn, c.d[i].hs.budget = -1, lim.MaxCrypto
	}
	return c
}

// ALPN lists the protocols the ClientHello offered (nil before it).
func (c *Conn) ALPN() []string { return c.alpn }

// Status returns the summary so far. Directions that never had a key get
// their reason.
func (c *Conn) Status() Status {
	st := c.st
	st.Version = c.v.code
	if c.haveSu {
		st.Suite = c.suite.id
	}
	for i := range c.d {
		if st.Decrypted[i] > 0 {
			st.Err[i] = nil
			continue
		}
		switch {
		case st.Err[i] != nil:
		case !c.haveCR:
			st.Err[i] = ErrNoHello
		case c.looked && c.secrets == nil:
			st.Err[i] = ErrNoKey
		case st.Failed[i] > 0:
			st.Err[i] = ErrAuth
		}
	}
	return st
}

// Datagram decrypts what it can of one UDP payload sent in direction dir.
func (c *Conn) Datagram(dir proto.Dir, b []byte, m proto.Meta) {
	dir &= 1
	for len(b) > 0 {
		if b[0]&0x80 == 0 {
			c.shortDatagram(dir, b, m)
			return
		}
		n := c.long(dir, b, m)
		if n <= 0 {
			return
		}
		b = b[n:]
	}
}

// long handles one long-header packet and returns its length (0: stop
// reading the datagram).
func (c *Conn) long(dir proto.Dir, b []byte, m proto.Meta) int {
	if len(b) < 7 {
		return 0
	}
	ver := uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4])
	v, ok := lookupVersion(ver)
	if !ok {
		if ver != 0 && !c.haveV {
			c.st.Err[dir] = fmt.Errorf("%w: version %#08x", ErrUnsupported, ver)
		}
		return 0
	}
	p := 5
	dl := int(b[p])
	if dl > 20 || p+1+dl >= len(b) {
		return 0
	}
	dcid := b[p+1 : p+1+dl]
	p += 1 + dl
	sl := int(b[p])
	if sl > 20 || p+1+sl > len(b) {
		return 0
	}
	p += 1 + sl
	typ := b[0] >> 4 & 3
	if typ == v.retry {
		// The client's next Initial uses the server's new CID: new keys.
		c.dcid = nil
		return 0
	}
	if typ == v.initial {
		tl, n, ok := quic.Varint(b[p:])
		if !ok || uint64(len(b)-p-n) < tl {
			return 0
		}
		p += n + int(tl)
	}
	length, n, ok := quic.Varint(b[p:])
	if !ok || uint64(len(b)-p-n) < length {
		return 0
	}
	pnOff := p + n
	end := pnOff + int(length)
	d := &c.d[dir]
	d.cidLen, d.haveCID = sl, true
	if typ == v.handshake && dir == proto.ToClient && c.handshake(dir, b[:end], pnOff, m) {
		return end
	}
	if typ != v.initial {
		c.st.Skipped[dir]++ // Handshake or 0-RTT
		return end
	}
	if dir == proto.ToServer && c.dcid == nil {
		c.dcid = append([]byte(nil), dcid...)
		c.v, c.haveV = v, true
		ck, sk, chp, shp, err := initialKeys(v, c.dcid)
		if err != nil {
			return end
		}
		c.d[0].initK, c.d[0].initHP, c.d[1].initK, c.d[1].initHP = ck, chp, sk, shp
	}
	if v.code != c.v.code && c.dcid != nil {
		// Compatible version negotiation (RFC 9368): the server answers
		// in another version; Initial keys follow the packet's version.
		c.v = v
		ck, sk, chp, shp, err := initialKeys(v, c.dcid)
		if err == nil {
			c.d[0].initK, c.d[0].initHP, c.d[1].initK, c.d[1].initHP = ck, chp, sk, shp
		}
	}
	if d.initK == nil {
		return end
	}
	pkt := b[:end]
	hdr := append(c.hdr[:0], pkt[:min(pnOff+4, len(pkt))]...)
	c.hdr = hdr
	pnLen, ok := unprotect(d.initHP, pkt, pnOff, hdr, true)
	if !ok {
		return end
	}
	pn := quic.DecodePacketNumber(d.initPN, truncatedPN(hdr, pnOff, pnLen), pnLen*8)
	plain, err := d.initK.open(c.out[:0], pkt, hdr, pnOff, pnLen, pn)
	if err != nil {
		return end
	}
	c.out = plain[:0]
	if int64(pn) > d.initPN {
		d.initPN = int64(pn)
	}
	c.frames(dir, plain, levelInitial, m)
	return end
}

// shortDatagram handles the short-header packet(s) ending a datagram.
// Captures taken above the network card (loopback included) can show a
// UDP GSO send as one datagram holding several packets back to back, so a
// datagram that does not decrypt whole is tried again cut where a packet
// with the same Destination Connection ID could begin.
func (c *Conn) shortDatagram(dir proto.Dir, b []byte, m proto.Meta) {
	switch c.short(dir, b, m) {
	case shortOK:
		return
	case shortSkip:
		c.st.Waiting[dir]++
		return
	}
	peer := &c.d[1-dir]
	cid := b[1 : 1+peer.cidLen]
	tries := 0
	for p := 1 + peer.cidLen + 20; p+1+len(cid)+20 <= len(b) && tries < 8; p++ {
		if b[p]&0xc0 != 0x40 || !bytes.Equal(b[p+1:p+1+len(cid)], cid) {
			continue
		}
		tries++
		if c.short(dir, b[:p], m) == shortOK {
			c.shortDatagram(dir, b[p:], m)
			return
		}
	}
	c.st.Failed[dir]++
}

type shortResult uint8

const (
	shortOK   shortResult = iota
	shortSkip             // no keys (yet) or too short: not an authentication failure
	shortFail
)

// short decrypts one 1-RTT packet that spans b.
func (c *Conn) short(dir proto.Dir, b []byte, m proto.Meta) shortResult {
	peer := &c.d[1-dir]
	d := &c.d[dir]
	if !peer.haveCID || !c.ready(dir) {
		return shortSkip
	}
	pnOff := 1 + peer.cidLen
	if pnOff+4+16 > len(b) {
		return shortSkip
	}
	if len(d.cands) > 0 {
		for _, k := range d.cands {
			if plain, ok := c.open1RTT(dir, k.k, k.h, b, pnOff, true); ok {
				d.cur, d.hp, d.cands = k.k, k.h, nil
				if !c.haveSu {
					c.suite, c.haveSu = k.s, true
				}
				c.frames(dir, plain, level1RTT, m)
				return shortOK
			}
		}
		return shortFail
	}
	if plain, ok := c.open1RTT(dir, nil, d.hp, b, pnOff, false); ok {
		c.frames(dir, plain, level1RTT, m)
		return shortOK
	}
	return shortFail
}

// open1RTT unprotects and decrypts a short-header packet. With first, k is
// the candidate to try; else the direction's key phases are tried.
func (c *Conn) open1RTT(dir proto.Dir, k *keys, hp hpMask, b []byte, pnOff int, first bool) ([]byte, bool) {
	d := &c.d[dir]
	hdr := append(c.hdr[:0], b[:pnOff+4]...)
	c.hdr = hdr
	pnLen, ok := unprotect(hp, b, pnOff, hdr, false)
	if !ok {
		return nil, false
	}
	pn := quic.DecodePacketNumber(d.largest, truncatedPN(hdr, pnOff, pnLen), pnLen*8)
	phase := hdr[0] >> 2 & 1
	try := func(k *keys) ([]byte, bool) {
		p, err := k.open(c.out[:0], b, hdr, pnOff, pnLen, pn)
		if err != nil {
			return nil, false
		}
		c.out = p[:0]
		if int64(pn) > d.largest {
			d.largest = int64(pn)
		}
		c.st.Decrypted[dir]++
		return p, true
	}
	if first {
		p, ok := try(k)
		if ok {
			d.phase = phase
		}
		return p, ok
	}
	if phase == d.phase {
		if p, ok := try(d.cur); ok {
			return p, true
		}
		return nil, false
	}
	// Other phase: the next keys (a key update) or the previous ones (a
	// late packet from before the update).
	if d.nextK == nil {
		n, err := d.cur.next(c.v, c.suite)
		if err != nil {
			return nil, false
		}
		d.nextK = n
	}
	if p, ok := try(d.nextK); ok {
		d.prev, d.cur, d.nextK = d.cur, d.nextK, nil
		d.phase = phase
		c.st.KeyUpdates[dir]++
		return p, true
	}
	if d.prev != nil {
		return try(d.prev)
	}
	return nil, false
}

// lookup finds the connection's secrets once the client random is known.
func (c *Conn) lookup() *keylog.Secrets {
	if !c.looked && c.haveCR {
		c.looked = true
		if s, ok := c.keys.Lookup(c.cr); ok {
			c.secrets, c.st.KeyFound = s, true
		}
	}
	return c.secrets
}

// candidates are the keys of label's secrets for every suite that fits
// (the negotiated one once the ServerHello was read).
func (c *Conn) candidates(label keylog.Label) []candidate {
	var out []candidate
	for _, sec := range c.lookup().Get(label) {
		for _, s := range suites {
			if c.haveSu && s.id != c.suite.id || s.hash.Size() != sec.Len() {
				continue
			}
			k, hp, err := newKeys(c.v, s, sec.Bytes())
			if err == nil {
				out = append(out, candidate{s, k, hp})
			}
		}
	}
	return out
}

// handshake decrypts one of the server's Handshake packets (pkt, its
// packet number at pnOff) and reads its CRYPTO frames for the Certificate
// message. It reports false when the packet was not decrypted (no keys, a
// failed authentication, or the certificate was already handed on): it is
// then counted as skipped.
func (c *Conn) handshake(dir proto.Dir, pkt []byte, pnOff int, m proto.Meta) bool {
	h := &c.d[dir].hs
	if h.done {
		return false
	}
	if _, ok := c.h.(CertificateHandler); !ok {
		return false
	}
	if !h.tried && c.lookup() != nil {
		h.tried = true
		h.cands = c.candidates(keylog.ServerHandshakeTrafficSecret)
	}
	try := func(k *keys, hp hpMask) ([]byte, bool) {
		hdr := append(c.hdr[:0], pkt[:min(pnOff+4, len(pkt))]...)
		c.hdr = hdr
		pnLen, ok := unprotect(hp, pkt, pnOff, hdr, true)
		if !ok {
			return nil, false
		}
		pn := quic.DecodePacketNumber(h.pn, truncatedPN(hdr, pnOff, pnLen), pnLen*8)
		plain, err := k.open(c.out[:0], pkt, hdr, pnOff, pnLen, pn)
		if err != nil {
			return nil, false
		}
		c.out = plain[:0]
		h.pn = max(h.pn, int64(pn))
		return plain, true
	}
	var plain []byte
	ok := false
	if h.k != nil {
		plain, ok = try(h.k, h.hp)
	} else {
		for _, cd := range h.cands {
			if plain, ok = try(cd.k, cd.h); ok {
				h.k, h.hp, h.cands = cd.k, cd.h, nil
				break
			}
		}
	}
	if !ok {
		return false
	}
	c.st.Handshake[dir]++
	c.frames(dir, plain, levelHandshake, m)
	return true
}

// hsCrypto collects the server's Handshake CRYPTO stream and hands on its
// Certificate message; the messages before it (EncryptedExtensions) are
// skipped, and reading stops after it or at a message over MaxCrypto
// bytes. A CompressedCertificate (RFC 8879) is handed on as it came, for
// the handler to decompress.
func (c *Conn) hsCrypto(dir proto.Dir, off uint64, data []byte, m proto.Meta) {
	h := &c.d[dir].hs
	if h.done {
		return
	}
	h.crypto.add(off, data, &h.budget, func(b []byte) {
		if len(h.buf)+len(b) <= c.lim.MaxCrypto {
			h.buf = append(h.buf, b...)
		} else {
			h.done = true
		}
	})
	for !h.done && len(h.buf) >= 4 {
		n := 4 + (int(h.buf[1])<<16 | int(h.buf[2])<<8 | int(h.buf[3]))
		if n > c.lim.MaxCrypto {
			h.done = true
			break
		}
		if len(h.buf) < n {
			return
		}
		switch h.buf[0] {
		case ptls.TypeCertificate, ptls.TypeCompressedCertificate:
			h.done = true
			c.h.(CertificateHandler).Certificate(h.buf[:n], m)
		default:
			h.buf = h.buf[n:]
		}
	}
	if h.done {
		h.buf, h.crypto = nil, reasm{}
	}
}

// ready sets up the 1-RTT candidates of dir once the client random is known.
func (c *Conn) ready(dir proto.Dir) bool {
	d := &c.d[dir]
	if d.cur != nil || len(d.cands) > 0 {
		return true
	}
	if c.lookup() == nil {
		return false
	}
	label := keylog.ClientTrafficSecret0
	if dir == proto.ToClient {
		label = keylog.ServerTrafficSecret0
	}
	d.cands = c.candidates(label)
	return len(d.cands) > 0
}

// Frame types (RFC 9000 section 19, RFC 9221).
const (
	frPadding      = 0x00
	frPing         = 0x01
	frAck          = 0x02
	frAckECN       = 0x03
	frResetStream  = 0x04
	frStopSending  = 0x05
	frCrypto       = 0x06
	frNewToken     = 0x07
	frStream       = 0x08 // to 0x0f
	frNewCID       = 0x18
	frPathChall    = 0x1a
	frPathResp     = 0x1b
	frClose        = 0x1c
	frCloseApp     = 0x1d
	frHandshakeDon = 0x1e
	frDatagram     = 0x30
	frDatagramLen  = 0x31
)

// Encryption levels of the packets frames reads.
const (
	level1RTT uint8 = iota
	levelInitial
	levelHandshake
)

// frames walks a decrypted payload of the given level: CRYPTO frames of
// Initial and Handshake packets, STREAM frames of 1-RTT packets. An
// unknown or malformed frame ends the walk (its length is unknown).
func (c *Conn) frames(dir proto.Dir, p []byte, level uint8, m proto.Meta) {
	for len(p) > 0 {
		t, n, ok := quic.Varint(p)
		if !ok {
			return
		}
		p = p[n:]
		var vals [4]uint64
		read := func(k int) bool {
			for i := 0; i < k; i++ {
				v, n, ok := quic.Varint(p)
				if !ok {
					return false
				}
				vals[i], p = v, p[n:]
			}
			return true
		}
		bytesN := func(n uint64) ([]byte, bool) {
			if n > uint64(len(p)) {
				return nil, false
			}
			b := p[:n]
			p = p[n:]
			return b, true
		}
		switch {
		case t == frPadding || t == frPing || t == frHandshakeDon:
		case t == frAck || t == frAckECN:
			if !read(4) {
				return
			}
			for i := uint64(0); i < vals[2]; i++ {
				if !read(2) {
					return
				}
			}
			if t == frAckECN && !read(3) {
				return
			}
		case t == frResetStream:
			if !read(3) {
				return
			}
		case t == frStopSending:
			if !read(2) {
				return
			}
		case t == frCrypto:
			if !read(2) {
				return
			}
			data, ok := bytesN(vals[1])
			if !ok {
				return
			}
			switch level {
			case levelInitial:
				c.crypto(dir, vals[0], data)
			case levelHandshake:
				c.hsCrypto(dir, vals[0], data, m)
			}
		case t == frNewToken:
			if !read(1) {
				return
			}
			if _, ok := bytesN(vals[0]); !ok {
				return
			}
		case t >= frStream && t <= frStream|7:
			if !read(1) {
				return
			}
			id, off := vals[0], uint64(0)
			if t&4 != 0 {
				if !read(1) {
					return
				}
				off = vals[0]
			}
			var data []byte
			if t&2 != 0 {
				if !read(1) {
					return
				}
				var ok bool
				if data, ok = bytesN(vals[0]); !ok {
					return
				}
			} else {
				data, p = p, nil
			}
			if level == level1RTT {
				c.stream(dir, id, off, data, t&1 != 0, m)
			}
		case t >= 0x10 && t <= 0x17 && t != 0x11 && t != 0x15:
			if !read(1) {
				return
			}
		case t == 0x11 || t == 0x15:
			if !read(2) {
				return
			}
		case t == frNewCID:
			if !read(2) || len(p) < 1 {
				return
			}
			l := int(p[0])
			if _, ok := bytesN(uint64(1 + l + 16)); !ok {
				return
			}
		case t == 0x19:
			if !read(1) {
				return
			}
		case t == frPathChall || t == frPathResp:
			if _, ok := bytesN(8); !ok {
				return
			}
		case t == frClose || t == frCloseApp:
			k := 2
			if t == frClose {
				k = 3
			}
			if !read(k) {
				return
			}
			if _, ok := bytesN(vals[k-1]); !ok {
				return
			}
		case t == frDatagram:
			return // rest of the packet
		case t == frDatagramLen:
			if !read(1) {
				return
			}
			if _, ok := bytesN(vals[0]); !ok {
				return
			}
		default:
			return
		}
	}
}

// crypto collects the Initial CRYPTO stream of one direction until its
// first handshake message (ClientHello or ServerHello) is complete.
func (c *Conn) crypto(dir proto.Dir, off uint64, data []byte) {
	d := &c.d[dir]
	if d.hsDone {
		return
	}
	d.crypto.add(off, data, &d.cryptoBudget, func(b []byte) {
		if len(d.hsBuf)+len(b) <= c.lim.MaxCrypto {
			d.hsBuf = append(d.hsBuf, b...)
		}
	})
	b := d.hsBuf
	if len(b) < 4 {
		return
	}
	n := 4 + (int(b[1])<<16 | int(b[2])<<8 | int(b[3]))
	if n > c.lim.MaxCrypto {
		d.hsDone = true
		c.st.Err[dir] = fmt.Errorf("%w: %d-byte hello", ErrLimit, n)
		return
	}
	if len(b) < n || n < 38 {
		return
	}
	d.hsDone = true
	msg := b[:n]
	switch {
	case dir == proto.ToServer && msg[0] == 1:
		copy(c.cr[:], msg[6:38])
		c.haveCR = true
		if ch, err := ptls.ParseClientHello(msg); err == nil {
			c.alpn = ch.ALPN
		}
	case dir == proto.ToClient && msg[0] == 2:
		sh, err := ptls.ParseServerHello(msg)
		if err != nil {
			return
		}
		if s, ok := suiteByID(sh.CipherSuite); ok {
			c.suite, c.haveSu = s, true
		} else {
			c.st.Err[0] = fmt.Errorf("%w: suite %#04x", ErrUnsupported, sh.CipherSuite)
			c.st.Err[1] = c.st.Err[0]
		}
	}
	d.hsBuf = nil
	d.crypto = reasm{}
}

// stream hands STREAM frame bytes on in order.
func (c *Conn) stream(dir proto.Dir, id, off uint64, data []byte, fin bool, m proto.Meta) {
	d := &c.d[dir]
	r := d.streams[id]
	if r == nil {
		if d.streamsN >= c.lim.MaxStreams {
			return
		}
		d.streamsN++
		r = &reasm{fin: -1}
		d.streams[id] = r
	}
	if r.done {
		return
	}
	out := func(b []byte) {
		c.st.StreamBytes[dir] += int64(len(b))
		c.h.StreamData(dir, id, b, m)
	}
	if fin {
		r.fin = int64(off + uint64(len(data)))
	}
	if !r.add(off, data, &c.budget, out) {
		// Over budget: give up the hole before this range.
		if n := r.skipTo(off, &c.budget, out); n > 0 {
			c.h.StreamGap(dir, id, n, m)
		}
		r.add(off, data, &c.budget, out)
	}
	if r.fin >= 0 && r.next >= uint64(r.fin) && !r.done {
		r.done = true
		c.h.StreamEnd(dir, id, m)
	}
}
