// Package dhcp decodes DHCPv4 (RFC 2131/2132) and DHCPv6 (RFC 8415)
// messages for what a device says about itself: hardware address, host
// name, FQDN, vendor class, the parameter request list (a device
// fingerprint), requested and assigned addresses, client identifiers.
//
// Parse and Parse6 are pure and reuse their Message; slices alias the input.
package dhcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Errors returned (wrapped) by Parse and Parse6.
var (
	ErrShort  = errors.New("dhcp: message truncated")
	ErrOption = errors.New("dhcp: malformed option")
)

// Magic is the DHCP magic cookie that follows the BOOTP header.
var Magic = [4]byte{99, 130, 83, 99}

const (
	fixedLen   = 236 // BOOTP header before the magic cookie
	optionsOff = fixedLen + 4
)

// MsgType is the DHCP message type (option 53).
type MsgType uint8

var msgTypes = [...]string{"", "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE",
	"INFORM", "FORCERENEW", "LEASEQUERY", "LEASEUNASSIGNED", "LEASEUNKNOWN", "LEASEACTIVE",
	"BULKLEASEQUERY", "LEASEQUERYDONE", "ACTIVELEASEQUERY", "LEASEQUERYSTATUS", "TLS"}

// String returns the RFC name ("DISCOVER"), "BOOTP" for 0 (no option 53)
// or the number.
func (t MsgType) String() string {
	if t == 0 {
		return "BOOTP"
	}
	if int(t) < len(msgTypes) {
		return msgTypes[t]
	}
	return fmt.Sprintf("%d", uint8(t))
}

// Option is one option as it appeared on the wire.
type Option struct {
	Code uint8
	Data []byte
}

// Message is a decoded DHCPv4 message.
type Message struct {
	Op                                  uint8 // 1 request, 2 reply
	HType, HLen, Hops                   uint8
	XID                                 uint32
	Secs, Flags                         uint16
	ClientIP, YourIP, ServerIP, RelayIP netip.Addr // ciaddr, yiaddr, siaddr, giaddr
	CHAddr                              []byte     // client hardware address (HLen bytes, at most 16)
	ServerName, File                    []byte     // sname and file, up to the first NUL, unless overloaded
	Type                                MsgType    // option 53
	Hostname                            []byte     // option 12
	FQDN                                []byte     // option 81, presentation form
	FQDNFlags                           uint8
	VendorClass                         []byte       // option 60
	ParamList                           []byte       // option 55
	RequestedIP                         netip.Addr   // option 50
	ServerID                            netip.Addr   // option 54
	ClientID                            []byte       // option 61 (type byte then value)
	LeaseTime                           uint32       // option 51, seconds
	SubnetMask                          netip.Addr   // option 1
	Routers, DNSServers                 []netip.Addr // options 3 and 6
	DomainName                          []byte       // option 15
	UserClass                           []byte       // option 77
	MaxSize                             uint16       // option 57
	Options                             []Option     // every option, in wire order
	Partial                             bool         // parsing stopped at malformed data

	addrs []netip.Addr
	name  []byte
}

// Reset empties m, keeping its capacity.
func (m *Message) Reset() {
	*m = Message{Options: m.Options[:0], addrs: m.addrs[:0], name: m.name[:0]}
}

// Detect reports whether b looks like a DHCPv4 message: BOOTP op 1 or 2, a
// hardware length of at most 16 and the magic cookie.
func Detect(b []byte) bool {
	return len(b) >= optionsOff && (b[0] == 1 || b[0] == 2) && b[2] <= 16 &&
		[4]byte(b[fixedLen:optionsOff]) == Magic
}

// Parse decodes the DHCPv4 (or plain BOOTP) message b into m. On malformed
// options it returns an error and keeps the fields read before.
func Parse(b []byte, m *Message) error {
	m.Reset()
	if len(b) < fixedLen {
		// Cut by the snap length: keep the addresses that were captured.
		m.Partial = true
		if len(b) >= 28 {
			m.Op, m.HType, m.HLen, m.Hops = b[0], b[1], b[2], b[3]
			m.XID = binary.BigEndian.Uint32(b[4:])
			m.ClientIP = netip.AddrFrom4([4]byte(b[12:16]))
			m.YourIP = netip.AddrFrom4([4]byte(b[16:20]))
			m.ServerIP = netip.AddrFrom4([4]byte(b[20:24]))
			m.RelayIP = netip.AddrFrom4([4]byte(b[24:28]))
			if n := 28 + min(int(m.HLen), 16); len(b) >= n {
				m.CHAddr = b[28:n]
			}
		}
		return fmt.Errorf("dhcp: header: %w", ErrShort)
	}
	m.Op, m.HType, m.HLen, m.Hops = b[0], b[1], b[2], b[3]
	m.XID = binary.BigEndian.Uint32(b[4:])
	m.Secs = binary.BigEndian.Uint16(b[8:])
	m.Flags = binary.BigEndian.Uint16(b[10:])
	m.ClientIP = netip.AddrFrom4([4]byte(b[12:16]))
	m.YourIP = netip.AddrFrom4([4]byte(b[16:20]))
	m.ServerIP = netip.AddrFrom4([4]byte(b[20:24]))
	m.RelayIP = netip.AddrFrom4([4]byte(b[24:28]))
	m.CHAddr = b[28 : 28+min(int(m.HLen), 16)]
	sname, file := b[44:108], b[108:236]
	if len(b) < optionsOff || [4]byte(b[fixedLen:optionsOff]) != Magic {
		// Plain BOOTP: no vendor area, or one in another format.
		m.ServerName, m.File = cstring(sname), cstring(file)
		return nil
	}
	overload, err := m.options(b[optionsOff:])
	if err == nil && overload&1 != 0 {
		_, err = m.options(file)
	}
	if err == nil && overload&2 != 0 {
		_, err = m.options(sname)
	}
	if overload&1 == 0 {
		m.File = cstring(file)
	}
	if overload&2 == 0 {
		m.ServerName = cstring(sname)
	}
	if err != nil {
		m.Partial = true
		return err
	}
	return nil
}

func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return nil
	}
	return b
}

// options decodes one options area; it returns the overload option value.
func (m *Message) options(b []byte) (overload uint8, err error) {
	for i := 0; i < len(b); {
		code := b[i]
		if code == 0 {
			i++
			continue
		}
		if code == 255 {
			return overload, nil
		}
		if i+1 >= len(b) || i+2+int(b[i+1]) > len(b) {
			return overload, fmt.Errorf("%w: option %d at offset %d overruns the message", ErrOption, code, i)
		}
		v := b[i+2 : i+2+int(b[i+1]) : i+2+int(b[i+1])]
		i += 2 + len(v)
		m.Options = append(m.Options, Option{Code: code, Data: v})
		if err := m.option(code, v); err != nil {
			return overload, fmt.Errorf("%w: option %d: %w", ErrOption, code, err)
		}
		if code == 52 && len(v) == 1 {
			overload = v[0]
		}
	}
	return overload, nil
}

var errLen = errors.New("bad length")

func (m *Message) option(code uint8, v []byte) error {
	switch code {
	case 53:
		if len(v) != 1 {
			return errLen
		}
		m.Type = MsgType(v[0])
	case 12:
		m.Hostname = v
	case 60:
		m.VendorClass = v
	case 55:
		m.ParamList = v
	case 61:
		m.ClientID = v
	case 15:
		m.DomainName = v
	case 77:
		m.UserClass = v
	case 50, 54, 1:
		if len(v) != 4 {
			return errLen
		}
		a := netip.AddrFrom4([4]byte(v))
		switch code {
		case 50:
			m.RequestedIP = a
		case 54:
			m.ServerID = a
		default:
			m.SubnetMask = a
		}
	case 51:
		if len(v) != 4 {
			return errLen
		}
		m.LeaseTime = binary.BigEndian.Uint32(v)
	case 57:
		if len(v) != 2 {
			return errLen
		}
		m.MaxSize = binary.BigEndian.Uint16(v)
	case 3, 6:
		if len(v)%4 != 0 {
			return errLen
		}
		start := len(m.addrs)
		for ; len(v) >= 4; v = v[4:] {
			m.addrs = append(m.addrs, netip.AddrFrom4([4]byte(v)))
		}
		list := m.addrs[start:len(m.addrs):len(m.addrs)]
		if code == 3 {
			m.Routers = list
		} else {
			m.DNSServers = list
		}
	case 81:
		if len(v) < 3 {
			return errLen
		}
		m.FQDNFlags = v[0]
		name := v[3:]
		if len(name) == 0 {
			return nil
		}
		if v[0]&0x04 != 0 { // E: canonical wire format
			var err error
			m.name, m.FQDN, err = wireName(m.name, name)
			return err
		} else {
			m.FQDN = name
		}
	}
	return nil
}

// MAC returns the client hardware address as "aa:bb:cc:dd:ee:ff" when it
// is 6 bytes long (whatever htype says: some clients send htype 0 with an
// Ethernet address), else the address bytes in hex, or "" when there are
// none.
func (m *Message) MAC() string {
	return hwString(m.CHAddr, len(m.CHAddr) == 6)
}

func hwString(b []byte, colon bool) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if colon && i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

// Fingerprint returns the parameter request list as decimal codes joined by
// commas ("1,3,6,15"), the form DHCP fingerprint databases use.
func (m *Message) Fingerprint() string {
	return joinCodes(m.ParamList)
}

func joinCodes(b []byte) string {
	out := make([]byte, 0, 4*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ',')
		}
		out = fmt.Appendf(out, "%d", c)
	}
	return string(out)
}
