// Package dns decodes DNS messages as carried by unicast DNS (UDP and TCP),
// multicast DNS (RFC 6762) and LLMNR (RFC 4795): header, questions and the
// three record sections, with the record types that name destinations (A,
// AAAA, CNAME, PTR, SRV, HTTPS/SVCB, TXT...). It also reassembles DNS over
// TCP (Stream) and keeps a per-client resolution cache (Cache) that names
// later flows by the server address they go to.
//
// Parse is pure and allocation-light: a Message is reused between calls and
// its slices alias either the input or arenas owned by the Message.
package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"
)

// Errors returned (wrapped) by Parse and ReadName.
var (
	ErrShort       = errors.New("dns: message truncated")
	ErrLabel       = errors.New("dns: unsupported label type")
	ErrPointer     = errors.New("dns: bad compression pointer")
	ErrNameTooLong = errors.New("dns: name longer than 255 octets")
	ErrRecord      = errors.New("dns: malformed record data")
)

// MaxNameLen is the longest name on the wire (RFC 1035 §3.1), counting
// length octets and the final zero.
const MaxNameLen = 255

// Type is a resource record type.
type Type uint16

// Record types decoded or named by this package.
const (
	TypeA      Type = 1
	TypeNS     Type = 2
	TypeCNAME  Type = 5
	TypeSOA    Type = 6
	TypePTR    Type = 12
	TypeHINFO  Type = 13
	TypeMX     Type = 15
	TypeTXT    Type = 16
	TypeAAAA   Type = 28
	TypeSRV    Type = 33
	TypeNAPTR  Type = 35
	TypeDNAME  Type = 39
	TypeOPT    Type = 41
	TypeDS     Type = 43
	TypeRRSIG  Type = 46
	TypeNSEC   Type = 47
	TypeDNSKEY Type = 48
	TypeNSEC3  Type = 50
	TypeSVCB   Type = 64
	TypeHTTPS  Type = 65
	TypeANY    Type = 255
	TypeCAA    Type = 257
)

var typeNames = map[Type]string{
	TypeA: "A", TypeNS: "NS", TypeCNAME: "CNAME", TypeSOA: "SOA", TypePTR: "PTR",
	TypeHINFO: "HINFO", TypeMX: "MX", TypeTXT: "TXT", TypeAAAA: "AAAA", TypeSRV: "SRV",
	TypeNAPTR: "NAPTR", TypeDNAME: "DNAME", TypeOPT: "OPT", TypeDS: "DS", TypeRRSIG: "RRSIG",
	TypeNSEC: "NSEC", TypeDNSKEY: "DNSKEY", TypeNSEC3: "NSEC3", TypeSVCB: "SVCB",
	TypeHTTPS: "HTTPS", TypeANY: "ANY", TypeCAA: "CAA",
}

// String returns the mnemonic ("AAAA") or "TYPE<n>" (RFC 3597).
func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", uint16(t))
}

// Question is one entry of the question section.
type Question struct {
	Name  []byte // presentation form, see ReadName
	Type  Type
	Class uint16 // without the mDNS unicast-response bit
	// UnicastResponse is the mDNS "QU" bit (top bit of the class).
	UnicastResponse bool
}

// RR is one resource record. Which decoded fields are set depends on Type;
// Data always holds the raw RDATA (aliasing the input of Parse).
type RR struct {
	Name  []byte
	Type  Type
	Class uint16 // without the mDNS cache-flush bit; for OPT see Message.EDNS
	// CacheFlush is the mDNS cache-flush bit (top bit of the class).
	CacheFlush bool
	TTL        uint32
	Data       []byte

	Addr   netip.Addr // A, AAAA
	Target []byte     // CNAME, DNAME, NS, PTR, MX, SRV, SOA (primary server), SVCB/HTTPS
	// Priority is the MX preference, SRV priority or SVCB priority.
	Priority uint16
	Weight   uint16 // SRV
	Port     uint16 // SRV, SVCB "port" parameter
	// Strings are TXT character-strings or HINFO CPU and OS.
	Strings [][]byte
	// SVCB/HTTPS parameters.
	ALPN  [][]byte
	Hints []netip.Addr // ipv4hint then ipv6hint
	ECH   bool         // an ECH config is published (the SNI may be hidden)
}

// EDNS is what the OPT pseudo-record (RFC 6891) said.
type EDNS struct {
	Present bool
	UDPSize uint16
	Version uint8
	DO      bool // DNSSEC OK
	// ClientSubnet is the EDNS Client Subnet option (RFC 7871): part of the
	// client's address, revealed to authoritative servers.
	ClientSubnet netip.Prefix
	Options      []byte // raw option bytes
}

// Message is one decoded DNS message. It is meant to be reused: Parse resets
// it. Slices alias the input passed to Parse and the Message's own arenas,
// so they are valid until the next Parse on the same Message and while the
// input is unchanged.
type Message struct {
	ID       uint16
	Response bool
	Opcode   uint8
	AA       bool // authoritative answer
	TC       bool // truncated
	RD       bool // recursion desired
	RA       bool // recursion available
	AD       bool // authentic data
	CD       bool // checking disabled
	// Rcode is the response code, extended with the OPT record's upper bits.
	Rcode uint16

	// Counts as declared in the header (may exceed what was decoded).
	QDCount, ANCount, NSCount, ARCount uint16

	Questions  []Question
	Answers    []RR
	Authority  []RR
	Additional []RR
	EDNS       EDNS

	// Partial is true when parsing stopped at malformed data; the sections
	// hold everything decoded before that point.
	Partial bool

	names []byte
	addrs []netip.Addr
	strs  [][]byte
}

// Reset empties m, keeping its allocated capacity.
func (m *Message) Reset() {
	*m = Message{
		Questions:  m.Questions[:0],
		Answers:    m.Answers[:0],
		Authority:  m.Authority[:0],
		Additional: m.Additional[:0],
		names:      m.names[:0],
		addrs:      m.addrs[:0],
		strs:       m.strs[:0],
	}
}

// HeaderLen is the size of the fixed DNS header.
const HeaderLen = 12

// Parse decodes the DNS message b into m, reusing m's storage. On malformed
// input it returns an error and leaves in m everything read before the bad
// part (with Partial set); the header is valid whenever len(b) >= 12.
func Parse(b []byte, m *Message) error {
	m.Reset()
	if len(b) < HeaderLen {
		m.Partial = true
		return fmt.Errorf("dns: header: %w", ErrShort)
	}
	m.ID = binary.BigEndian.Uint16(b)
	f := binary.BigEndian.Uint16(b[2:])
	m.Response = f&0x8000 != 0
	m.Opcode = uint8(f>>11) & 0xF
	m.AA = f&0x0400 != 0
	m.TC = f&0x0200 != 0
	m.RD = f&0x0100 != 0
	m.RA = f&0x0080 != 0
	m.AD = f&0x0020 != 0
	m.CD = f&0x0010 != 0
	m.Rcode = f & 0xF
	m.QDCount = binary.BigEndian.Uint16(b[4:])
	m.ANCount = binary.BigEndian.Uint16(b[6:])
	m.NSCount = binary.BigEndian.Uint16(b[8:])
	m.ARCount = binary.BigEndian.Uint16(b[10:])

	off := HeaderLen
	var err error
	for i := 0; i < int(m.QDCount); i++ {
		if off, err = m.question(b, off); err != nil {
			m.Partial = true
			return fmt.Errorf("dns: question %d at offset %d: %w", i, off, err)
		}
	}
	sections := [3]struct {
		n    uint16
		dst  *[]RR
		name string
	}{{m.ANCount, &m.Answers, "answer"}, {m.NSCount, &m.Authority, "authority"}, {m.ARCount, &m.Additional, "additional"}}
	for _, s := range sections {
		for i := 0; i < int(s.n); i++ {
			if off, err = m.record(b, off, s.dst); err != nil {
				m.Partial = true
				return fmt.Errorf("dns: %s %d at offset %d: %w", s.name, i, off, err)
			}
		}
	}
	return nil
}

func (m *Message) question(b []byte, off int) (int, error) {
	start := len(m.names)
	var err error
	m.names, off, err = ReadName(m.names, b, off)
	if err != nil {
		m.names = m.names[:start]
		return off, err
	}
	if off+4 > len(b) {
		return off, ErrShort
	}
	cl := binary.BigEndian.Uint16(b[off+2:])
	m.Questions = append(m.Questions, Question{
		Name:            m.names[start:len(m.names):len(m.names)],
		Type:            Type(binary.BigEndian.Uint16(b[off:])),
		Class:           cl & 0x7FFF,
		UnicastResponse: cl&0x8000 != 0,
	})
	return off + 4, nil
}

func (m *Message) record(b []byte, off int, dst *[]RR) (int, error) {
	start := len(m.names)
	var err error
	m.names, off, err = ReadName(m.names, b, off)
	if err != nil {
		m.names = m.names[:start]
		return off, err
	}
	if off+10 > len(b) {
		return off, ErrShort
	}
	name := m.names[start:len(m.names):len(m.names)]
	t := Type(binary.BigEndian.Uint16(b[off:]))
	cl := binary.BigEndian.Uint16(b[off+2:])
	ttl := binary.BigEndian.Uint32(b[off+4:])
	n := int(binary.BigEndian.Uint16(b[off+8:]))
	off += 10
	if off+n > len(b) {
		return off, ErrShort
	}
	*dst = append(*dst, RR{Name: name, Type: t, TTL: ttl, Data: b[off : off+n : off+n]})
	rr := &(*dst)[len(*dst)-1]
	if t == TypeOPT {
		rr.Class = cl
		err = m.opt(rr)
	} else {
		rr.Class = cl & 0x7FFF
		rr.CacheFlush = cl&0x8000 != 0
		err = m.rdata(b, off, rr)
	}
	if err != nil {
		*dst = (*dst)[:len(*dst)-1]
		return off, err
	}
	return off + n, nil
}

// rdata decodes the RDATA of rr, which starts at off in the message b (names
// inside RDATA may point anywhere before them in b).
func (m *Message) rdata(b []byte, off int, rr *RR) error {
	d := rr.Data
	end := off + len(d)
	var err error
	switch rr.Type {
	case TypeA:
		if len(d) != 4 {
			return ErrRecord
		}
		rr.Addr = netip.AddrFrom4([4]byte(d))
	case TypeAAAA:
		if len(d) != 16 {
			return ErrRecord
		}
		rr.Addr = netip.AddrFrom16([16]byte(d))
	case TypeCNAME, TypeDNAME, TypeNS, TypePTR, TypeSOA:
		rr.Target, _, err = m.name(b[:end], off)
	case TypeMX:
		if len(d) < 3 {
			return ErrRecord
		}
		rr.Priority = binary.BigEndian.Uint16(d)
		rr.Target, _, err = m.name(b[:end], off+2)
	case TypeSRV:
		if len(d) < 7 {
			return ErrRecord
		}
		rr.Priority = binary.BigEndian.Uint16(d)
		rr.Weight = binary.BigEndian.Uint16(d[2:])
		rr.Port = binary.BigEndian.Uint16(d[4:])
		rr.Target, _, err = m.name(b[:end], off+6)
	case TypeTXT, TypeHINFO:
		start := len(m.strs)
		for i := 0; i < len(d); {
			l := int(d[i])
			if i+1+l > len(d) {
				m.strs = m.strs[:start]
				return ErrRecord
			}
			m.strs = append(m.strs, d[i+1:i+1+l:i+1+l])
			i += 1 + l
		}
		rr.Strings = m.strs[start:len(m.strs):len(m.strs)]
	case TypeSVCB, TypeHTTPS:
		return m.svcb(b[:end], off, rr)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRecord, rr.Type, err)
	}
	return nil
}

// name reads a name at off into the arena and returns it.
func (m *Message) name(b []byte, off int) ([]byte, int, error) {
	start := len(m.names)
	var err error
	m.names, off, err = ReadName(m.names, b, off)
	if err != nil {
		m.names = m.names[:start]
		return nil, off, err
	}
	return m.names[start:len(m.names):len(m.names)], off, nil
}

// SVCB parameter keys (RFC 9460 §14.3.2).
const (
	svcALPN     = 1
	svcPort     = 3
	svcIPv4Hint = 4
	svcECH      = 5
	svcIPv6Hint = 6
)

func (m *Message) svcb(b []byte, off int, rr *RR) error {
	if len(rr.Data) < 3 {
		return ErrRecord
	}
	rr.Priority = binary.BigEndian.Uint16(rr.Data)
	var err error
	rr.Target, off, err = m.name(b, off+2)
	if err != nil {
		return fmt.Errorf("%w: %s target: %w", ErrRecord, rr.Type, err)
	}
	p := b[off:]
	strStart, addrStart := len(m.strs), len(m.addrs)
	for len(p) > 0 {
		if len(p) < 4 {
			return ErrRecord
		}
		key := binary.BigEndian.Uint16(p)
		l := int(binary.BigEndian.Uint16(p[2:]))
		if 4+l > len(p) {
			return ErrRecord
		}
		v := p[4 : 4+l : 4+l]
		p = p[4+l:]
		switch key {
		case svcALPN:
			for len(v) > 0 {
				n := int(v[0])
				if 1+n > len(v) {
					return ErrRecord
				}
				m.strs = append(m.strs, v[1:1+n:1+n])
				v = v[1+n:]
			}
		case svcPort:
			if l != 2 {
				return ErrRecord
			}
			rr.Port = binary.BigEndian.Uint16(v)
		case svcIPv4Hint:
			if l%4 != 0 {
				return ErrRecord
			}
			for ; len(v) >= 4; v = v[4:] {
				m.addrs = append(m.addrs, netip.AddrFrom4([4]byte(v)))
			}
		case svcIPv6Hint:
			if l%16 != 0 {
				return ErrRecord
			}
			for ; len(v) >= 16; v = v[16:] {
				m.addrs = append(m.addrs, netip.AddrFrom16([16]byte(v)))
			}
		case svcECH:
			rr.ECH = l > 0
		}
	}
	if len(m.strs) > strStart {
		rr.ALPN = m.strs[strStart:len(m.strs):len(m.strs)]
	}
	if len(m.addrs) > addrStart {
		rr.Hints = m.addrs[addrStart:len(m.addrs):len(m.addrs)]
	}
	return nil
}

// opt decodes the EDNS OPT pseudo-record into m.EDNS.
func (m *Message) opt(rr *RR) error {
	e := &m.EDNS
	e.Present = true
	e.UDPSize = rr.Class
	m.Rcode |= uint16(rr.TTL>>24) << 4
	e.Version = uint8(rr.TTL >> 16)
	e.DO = rr.TTL&0x8000 != 0
	e.Options = rr.Data
	for d := rr.Data; len(d) > 0; {
		if len(d) < 4 {
			return ErrRecord
		}
		code := binary.BigEndian.Uint16(d)
		l := int(binary.BigEndian.Uint16(d[2:]))
		if 4+l > len(d) {
			return ErrRecord
		}
		if code == 8 { // client subnet
			e.ClientSubnet = clientSubnet(d[4 : 4+l])
		}
		d = d[4+l:]
	}
	return nil
}

// clientSubnet decodes an ECS option value: family, source prefix length,
// scope prefix length, then the address truncated to the source prefix.
func clientSubnet(v []byte) netip.Prefix {
	if len(v) < 4 {
		return netip.Prefix{}
	}
	fam, bits, a := binary.BigEndian.Uint16(v), int(v[2]), v[4:]
	switch {
	case fam == 1 && bits <= 32 && len(a) <= 4:
		var ip [4]byte
		copy(ip[:], a)
		p, _ := netip.AddrFrom4(ip).Prefix(bits)
		return p
	case fam == 2 && bits <= 128 && len(a) <= 16:
		var ip [16]byte
		copy(ip[:], a)
		p, _ := netip.AddrFrom16(ip).Prefix(bits)
		return p
	}
	return netip.Prefix{}
}

// ReadName decodes the possibly compressed domain name at off in msg and
// appends its presentation form to dst. It returns the extended dst and the
// offset just after the name where it started (after the first pointer, if
// any). The root is ".", other names have no trailing dot. Within a label,
// "." and "\" are escaped with a backslash; bytes that are control characters
// or not valid UTF-8 are written as \DDD (RFC 4343 style); spaces and UTF-8
// text, common in mDNS service names, are kept as is.
//
// Compression pointers must point strictly before the run of labels that
// contains them, which rejects every loop; the decoded name may not exceed
// MaxNameLen octets on the wire.
func ReadName(dst, msg []byte, off int) ([]byte, int, error) {
	start := len(dst)
	next := -1   // offset after the name in its original position
	limit := off // pointers must point before this
	wire := 1    // wire length so far, counting the final zero octet
	for hops := 0; ; {
		if off < 0 || off >= len(msg) {
			return dst[:start], off, ErrShort
		}
		c := int(msg[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				if len(dst) == start {
					dst = append(dst, '.')
				}
				if next < 0 {
					next = off + 1
				}
				return dst, next, nil
			}
			if off+1+c > len(msg) {
				return dst[:start], off, ErrShort
			}
			wire += 1 + c
			if wire > MaxNameLen {
				return dst[:start], off, ErrNameTooLong
			}
			if len(dst) > start {
				dst = append(dst, '.')
			}
			dst = AppendLabel(dst, msg[off+1:off+1+c])
			off += 1 + c
		case 0xC0:
			if off+1 >= len(msg) {
				return dst[:start], off, ErrShort
			}
			ptr := (c&0x3F)<<8 | int(msg[off+1])
			if ptr >= limit || hops > MaxNameLen/2 {
				return dst[:start], off, ErrPointer
			}
			hops++
			if next < 0 {
				next = off + 2
			}
			limit, off = ptr, ptr
		default:
			return dst[:start], off, ErrLabel
		}
	}
}

// AppendLabel appends the presentation form of one label to dst, escaped as
// described for ReadName.
func AppendLabel(dst, l []byte) []byte {
	plain := true
	for _, c := range l {
		if c < 0x20 || c >= 0x7f || c == '.' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return append(dst, l...)
	}
	valid := utf8.Valid(l)
	for _, c := range l {
		switch {
		case c == '.' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7F || (c >= 0x80 && !valid):
			dst = append(dst, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// AddressRecords calls fn with the owner name (as on the wire, the Name of
// the record's event) and address of each A and AAAA record in the answer,
// then the additional section, without building the event: the engine
// reads mDNS host names from every response. name is valid during the call.
func (m *Message) AddressRecords(fn func(name []byte, addr netip.Addr)) {
	for _, rrs := range [2][]RR{m.Answers, m.Additional} {
		for i := range rrs {
			if rr := &rrs[i]; rr.Type == TypeA || rr.Type == TypeAAAA {
				fn(rr.Name, rr.Addr)
			}
		}
	}
}
