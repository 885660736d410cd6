// Package netbios decodes the NetBIOS name service (RFC 1002, UDP 137) and
// the header of the datagram service (UDP 138). Windows machines, printers
// and NAS boxes announce their host and workgroup names there, and node
// status answers carry the adapter's MAC address.
package netbios

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto/dns"
)

// Errors returned (wrapped) by Parse and ParseDatagram.
var (
	ErrShort = errors.New("netbios: packet truncated")
	ErrName  = errors.New("netbios: bad encoded name")
)

// Resource record types.
const (
	TypeNB     = 0x20
	TypeNBSTAT = 0x21
)

// maxRecords bounds decoded questions plus records, and maxEntries the
// names of one node status answer.
const (
	maxRecords = 64
	maxEntries = 64
)

// Name is a decoded NetBIOS name: up to 15 characters, the suffix byte that
// says which service registered it (0x00 workstation, 0x20 file server, 0x1d
// master browser...) and an optional scope.
type Name struct {
	Name   string
	Suffix byte
	Scope  string
}

// String renders n as NAME<xx>, with ".scope" appended when set.
func (n Name) String() string {
	s := fmt.Sprintf("%s<%02x>", n.Name, n.Suffix)
	if n.Scope != "" {
		s += "." + n.Scope
	}
	return s
}

// Question is one name query entry.
type Question struct {
	Name Name
	Type uint16
}

// Entry is one name of a node status (NBSTAT) answer.
type Entry struct {
	Name  Name
	Flags uint16 // bit 15 group name; ONT bits; DRG, CNF, ACT, PRM
}

// Record is one resource record.
type Record struct {
	Name    Name
	Type    uint16
	TTL     uint32
	Addrs   []netip.Addr // NB: the addresses registered for the name
	Entries []Entry      // NBSTAT: the node's name table
	MAC     [6]byte      // NBSTAT: unit id, the adapter's MAC address
	HasMAC  bool
}

// Message is a decoded name service packet.
type Message struct {
	ID        uint16
	Response  bool
	Opcode    uint8 // 0 query, 5 registration, 6 release, 7 WACK, 8 refresh, 15 multi-homed registration
	Flags     uint8 // AA, TC, RD, RA, B (broadcast)
	Rcode     uint8
	Questions []Question
	Records   []Record // answer, authority and additional sections together
	Partial   bool
	scratch   []byte
}

// Parse decodes a name service packet (UDP 137) into m.
func Parse(b []byte, m *Message) error {
	*m = Message{Questions: m.Questions[:0], Records: m.Records[:0], scratch: m.scratch[:0]}
	if err := m.parse(b); err != nil {
		m.Partial = true
		return err
	}
	return nil
}

func (m *Message) parse(b []byte) error {
	if len(b) < 12 {
		return fmt.Errorf("netbios: header: %w", ErrShort)
	}
	m.ID = binary.BigEndian.Uint16(b)
	f := binary.BigEndian.Uint16(b[2:])
	m.Response = f&0x8000 != 0
	m.Opcode = uint8(f>>11) & 0xF
	m.Flags = uint8(f>>4) & 0x7F
	m.Rcode = uint8(f & 0xF)
	qd := int(binary.BigEndian.Uint16(b[4:]))
	rr := int(binary.BigEndian.Uint16(b[6:])) + int(binary.BigEndian.Uint16(b[8:])) + int(binary.BigEndian.Uint16(b[10:]))
	off := 12
	var err error
	for i := 0; i < qd && i < maxRecords; i++ {
		var n Name
		if n, off, err = m.name(b, off); err != nil {
			return fmt.Errorf("netbios: question %d: %w", i, err)
		}
		if off+4 > len(b) {
			return fmt.Errorf("netbios: question %d: %w", i, ErrShort)
		}
		m.Questions = append(m.Questions, Question{Name: n, Type: binary.BigEndian.Uint16(b[off:])})
		off += 4
	}
	for i := 0; i < rr && len(m.Questions)+len(m.Records) < maxRecords; i++ {
		var r Record
		if r.Name, off, err = m.name(b, off); err != nil {
			return fmt.Errorf("netbios: record %d: %w", i, err)
		}
		if off+10 > len(b) {
			return fmt.Errorf("netbios: record %d: %w", i, ErrShort)
		}
		r.Type = binary.BigEndian.Uint16(b[off:])
		r.TTL = binary.BigEndian.Uint32(b[off+4:])
		n := int(binary.BigEndian.Uint16(b[off+8:]))
		off += 10
		if off+n > len(b) {
			return fmt.Errorf("netbios: record %d data: %w", i, ErrShort)
		}
		d := b[off : off+n]
		off += n
		switch r.Type {
		case TypeNB:
			for ; len(d) >= 6; d = d[6:] {
				r.Addrs = append(r.Addrs, netip.AddrFrom4([4]byte(d[2:6])))
			}
		case TypeNBSTAT:
			if len(d) >= 1 {
				cnt := int(d[0])
				d = d[1:]
				for j := 0; j < cnt && len(d) >= 18; j++ {
					if j < maxEntries {
						r.Entries = append(r.Entries, Entry{Name: rawName(d[:16]), Flags: binary.BigEndian.Uint16(d[16:])})
					}
					d = d[18:]
				}
				if len(d) >= 6 {
					r.MAC, r.HasMAC = [6]byte(d[:6]), true
				}
			}
		}
		m.Records = append(m.Records, r)
	}
	return nil
}

// name reads a (possibly compressed) encoded name at off.
func (m *Message) name(b []byte, off int) (Name, int, error) {
	var err error
	m.scratch, off, err = dns.ReadName(m.scratch[:0], b, off)
	if err != nil {
		return Name{}, off, err
	}
	n, ok := DecodeName(m.scratch)
	if !ok {
		return Name{}, off, ErrName
	}
	return n, off, nil
}

// DecodeName decodes a first-level encoded name ("FEEFFDFECACACACA...AA"
// followed by an optional ".scope") as returned by dns.ReadName.
func DecodeName(s []byte) (Name, bool) {
	label, scope, _ := bytes.Cut(s, []byte("."))
	if len(label) != 32 {
		return Name{}, false
	}
	var raw [16]byte
	for i := range raw {
		hi, lo := label[2*i]-'A', label[2*i+1]-'A'
		if hi > 15 || lo > 15 {
			return Name{}, false
		}
		raw[i] = hi<<4 | lo
	}
	n := rawName(raw[:])
	n.Scope = string(scope)
	return n, true
}

// rawName splits 16 raw bytes into the space-padded name and the suffix.
func rawName(raw []byte) Name {
	name := strings.TrimRight(string(raw[:15]), " \x00")
	var b strings.Builder
	for _, c := range []byte(name) {
		if c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, `\x%02x`, c)
		} else {
			b.WriteByte(c)
		}
	}
	return Name{Name: b.String(), Suffix: raw[15]}
}

// Datagram is the header of a datagram service packet (UDP 138).
type Datagram struct {
	Type        uint8 // 0x10 direct unique, 0x11 direct group, 0x12 broadcast, 0x13 error, 0x14-0x16 query
	Flags       uint8
	ID          uint16
	SourceIP    netip.Addr
	SourcePort  uint16
	Source      Name
	Destination Name
	Data        []byte // user data (usually an SMB browser announcement)
}

// ParseDatagram decodes a datagram service packet header.
func ParseDatagram(b []byte, d *Datagram) error {
	*d = Datagram{}
	if len(b) < 10 {
		return fmt.Errorf("netbios: datagram header: %w", ErrShort)
	}
	d.Type, d.Flags = b[0], b[1]
	d.ID = binary.BigEndian.Uint16(b[2:])
	d.SourceIP = netip.AddrFrom4([4]byte(b[4:8]))
	d.SourcePort = binary.BigEndian.Uint16(b[8:])
	if d.Type < 0x10 || d.Type > 0x12 {
		return nil
	}
	if len(b) < 14 {
		return fmt.Errorf("netbios: datagram header: %w", ErrShort)
	}
	var scratch []byte
	var err error
	off := 14
	for i, dst := range []*Name{&d.Source, &d.Destination} {
		scratch, off, err = dns.ReadName(scratch[:0], b, off)
		if err != nil {
			return fmt.Errorf("netbios: datagram name %d: %w", i, err)
		}
		n, ok := DecodeName(scratch)
		if !ok {
			return fmt.Errorf("netbios: datagram name %d: %w", i, ErrName)
		}
		*dst = n
	}
	d.Data = b[off:]
	return nil
}
