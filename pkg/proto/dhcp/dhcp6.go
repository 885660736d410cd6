package dhcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/phonehome/phonehome/pkg/proto/dns"
)

// Msg6Type is a DHCPv6 message type.
type Msg6Type uint8

var msg6Types = [...]string{"", "SOLICIT", "ADVERTISE", "REQUEST", "CONFIRM", "RENEW", "REBIND",
	"REPLY", "RELEASE", "DECLINE", "RECONFIGURE", "INFORMATION-REQUEST", "RELAY-FORW", "RELAY-REPL"}

// String returns the RFC 8415 name or the number.
func (t Msg6Type) String() string {
	if t > 0 && int(t) < len(msg6Types) {
		return msg6Types[t]
	}
	return fmt.Sprintf("%d", uint8(t))
}

// maxRelayDepth bounds nesting: relay messages and IA options.
const maxRelayDepth = 8

// Message6 is a decoded DHCPv6 message. For relayed messages the fields
// describe the innermost client or server message and Relays counts the
// relay layers.
type Message6 struct {
	Type        Msg6Type
	XID         uint32 // 24-bit transaction id
	Relays      int
	PeerAddr    netip.Addr // innermost relay's peer (client) address
	ClientDUID  []byte     // option 1
	ServerDUID  []byte     // option 2
	FQDN        []byte     // option 39, presentation form
	VendorClass [][]byte   // option 16 data strings (after the enterprise number)
	Enterprise  uint32     // option 16 enterprise number
	UserClass   []byte     // option 15, raw
	ORO         []uint16   // option 6: requested options (a fingerprint)
	Addrs       []netip.Addr
	Elapsed     uint16 // option 8, hundredths of a second
	Options     []uint16
	Partial     bool

	name  []byte
	strs  [][]byte
	codes []uint16
}

// Reset empties m, keeping its capacity.
func (m *Message6) Reset() {
	*m = Message6{
		VendorClass: m.VendorClass[:0], ORO: m.ORO[:0], Addrs: m.Addrs[:0], Options: m.Options[:0],
		name: m.name[:0], strs: m.strs[:0], codes: m.codes[:0],
	}
}

// Parse6 decodes the DHCPv6 message b into m.
func Parse6(b []byte, m *Message6) error {
	m.Reset()
	if err := m.parse(b, 0); err != nil {
		m.Partial = true
		return err
	}
	return nil
}

func (m *Message6) parse(b []byte, depth int) error {
	if len(b) < 1 {
		return fmt.Errorf("dhcp: v6 header: %w", ErrShort)
	}
	m.Type = Msg6Type(b[0])
	if m.Type == 12 || m.Type == 13 { // relay: hop-count, link-address, peer-address
		if len(b) < 34 {
			return fmt.Errorf("dhcp: v6 relay header: %w", ErrShort)
		}
		m.Relays++
		m.PeerAddr = netip.AddrFrom16([16]byte(b[18:34]))
		return m.options(b[34:], depth)
	}
	if len(b) < 4 {
		return fmt.Errorf("dhcp: v6 header: %w", ErrShort)
	}
	m.XID = uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return m.options(b[4:], depth)
}

func (m *Message6) options(b []byte, depth int) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("%w: v6 option header", ErrShort)
		}
		code := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if 4+n > len(b) {
			return fmt.Errorf("%w: v6 option %d overruns the message", ErrOption, code)
		}
		v := b[4 : 4+n : 4+n]
		b = b[4+n:]
		m.Options = append(m.Options, code)
		if err := m.option(code, v, depth); err != nil {
			if depth > 0 {
				return err // wrapped once, by the outermost option
			}
			return fmt.Errorf("%w: v6 option %d: %w", ErrOption, code, err)
		}
	}
	return nil
}

func (m *Message6) option(code uint16, v []byte, depth int) error {
	switch code {
	case 1:
		m.ClientDUID = v
	case 2:
		m.ServerDUID = v
	case 6:
		if len(v)%2 != 0 {
			return errLen
		}
		for ; len(v) >= 2; v = v[2:] {
			m.ORO = append(m.ORO, binary.BigEndian.Uint16(v))
		}
	case 8:
		if len(v) != 2 {
			return errLen
		}
		m.Elapsed = binary.BigEndian.Uint16(v)
	case 9: // relay message
		if depth >= maxRelayDepth {
			return fmt.Errorf("options nested deeper than %d", maxRelayDepth)
		}
		return m.parse(v, depth+1)
	case 3, 4: // IA_NA (IAID, T1, T2), IA_TA (IAID): nested options
		skip := 12
		if code == 4 {
			skip = 4
		}
		if len(v) < skip {
			return errLen
		}
		if depth >= maxRelayDepth {
			return fmt.Errorf("options nested deeper than %d", maxRelayDepth)
		}
		return m.options(v[skip:], depth+1)
	case 5: // IA Address
		if len(v) < 24 {
			return errLen
		}
		m.Addrs = append(m.Addrs, netip.AddrFrom16([16]byte(v[:16])))
		if depth >= maxRelayDepth {
			return fmt.Errorf("options nested deeper than %d", maxRelayDepth)
		}
		return m.options(v[24:], depth+1)
	case 15:
		m.UserClass = v
	case 16:
		if len(v) < 4 {
			return errLen
		}
		m.Enterprise = binary.BigEndian.Uint32(v)
		for d := v[4:]; len(d) > 0; {
			if len(d) < 2 || 2+int(binary.BigEndian.Uint16(d)) > len(d) {
				return errLen
			}
			l := int(binary.BigEndian.Uint16(d))
			m.VendorClass = append(m.VendorClass, d[2:2+l:2+l])
			d = d[2+l:]
		}
	case 39:
		if len(v) < 1 {
			return errLen
		}
		if len(v) == 1 {
			return nil
		}
		var err error
		m.name, m.FQDN, err = wireName(m.name, v[1:])
		return err
	}
	return nil
}

// wireName decodes an uncompressed wire-format name that may lack the final
// zero (a partial name, RFC 4702/4704) into the arena dst.
func wireName(dst, v []byte) (arena, name []byte, err error) {
	start := len(dst)
	wire := 0
	for len(v) > 0 && v[0] != 0 {
		l := int(v[0])
		wire += 1 + l
		if l > 63 || 1+l > len(v) || wire > dns.MaxNameLen {
			return dst[:start], nil, errLen
		}
		if len(dst) > start {
			dst = append(dst, '.')
		}
		dst = dns.AppendLabel(dst, v[1:1+l])
		v = v[1+l:]
	}
	return dst, dst[start:len(dst):len(dst)], nil
}

// DUIDLinkLayer returns the link-layer address inside a DUID-LLT (type 1)
// or DUID-LL (type 3), formatted like Message.MAC, or "".
func DUIDLinkLayer(duid []byte) string {
	if len(duid) < 4 {
		return ""
	}
	typ, hw := binary.BigEndian.Uint16(duid), binary.BigEndian.Uint16(duid[2:])
	var a []byte
	switch typ {
	case 1:
		if len(duid) < 8 {
			return ""
		}
		a = duid[8:]
	case 3:
		a = duid[4:]
	default:
		return ""
	}
	if len(a) == 0 || len(a) > 20 {
		return ""
	}
	return hwString(a, hw == 1 && len(a) == 6)
}
