package dhcp

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EventType is the "type" of DHCP events (v4 and v6).
const EventType = "dhcp"

// Event is the JSON form of one DHCPv4 or DHCPv6 message (event type
// "dhcp"); see docs/events.md.
type Event struct {
	Version     int      `json:"version"` // 4 or 6
	Op          string   `json:"op,omitempty"`
	MsgType     string   `json:"msg_type"`
	XID         string   `json:"xid"`
	ClientMAC   string   `json:"client_mac,omitempty"`
	ClientIP    string   `json:"client_ip,omitempty"`
	YourIP      string   `json:"your_ip,omitempty"`
	ServerIP    string   `json:"server_ip,omitempty"`
	RelayIP     string   `json:"relay_ip,omitempty"`
	Hostname    string   `json:"hostname,omitempty"`
	FQDN        string   `json:"fqdn,omitempty"`
	VendorClass string   `json:"vendor_class,omitempty"`
	UserClass   string   `json:"user_class,omitempty"`
	ParamList   string   `json:"param_list,omitempty"`
	RequestedIP string   `json:"requested_ip,omitempty"`
	ServerID    string   `json:"server_id,omitempty"`
	ClientID    string   `json:"client_id,omitempty"`
	ServerDUID  string   `json:"server_duid,omitempty"`
	LeaseTime   uint32   `json:"lease_time,omitempty"`
	SubnetMask  string   `json:"subnet_mask,omitempty"`
	Routers     []string `json:"routers,omitempty"`
	DNSServers  []string `json:"dns_servers,omitempty"`
	DomainName  string   `json:"domain_name,omitempty"`
	Addresses   []string `json:"addresses,omitempty"` // v6 IA addresses
	Relays      int      `json:"relays,omitempty"`
	PeerIP      string   `json:"peer_ip,omitempty"` // v6: innermost relay's peer address
	Options     string   `json:"options"`           // option codes in wire order
	Error       string   `json:"error,omitempty"`
}

func addr(a netip.Addr) string {
	if !a.IsValid() || a.IsUnspecified() {
		return ""
	}
	return a.String()
}

// opt formats an address that was present as an option (0.0.0.0 included).
func opt(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func addrs(as []netip.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// text returns b as a string with control bytes and invalid UTF-8 escaped,
// and trailing NULs (common in host names) removed.
func text(b []byte) string {
	b = []byte(strings.TrimRight(string(b), "\x00"))
	if utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return string(b)
	}
	var s strings.Builder
	valid := utf8.Valid(b)
	for _, c := range b {
		if c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && !valid) {
			fmt.Fprintf(&s, `\x%02x`, c)
			continue
		}
		s.WriteByte(c)
	}
	return s.String()
}

// NewEvent converts a DHCPv4 message.
func NewEvent(m *Message, err error) Event {
	e := Event{
		Version: 4, MsgType: m.Type.String(), XID: fmt.Sprintf("0x%08x", m.XID),
		ClientMAC: m.MAC(), ClientIP: addr(m.ClientIP), YourIP: addr(m.YourIP), ServerIP: addr(m.ServerIP),
		RelayIP: addr(m.RelayIP), Hostname: text(m.Hostname), FQDN: text(m.FQDN),
		VendorClass: text(m.VendorClass), UserClass: text(m.UserClass), ParamList: m.Fingerprint(),
		RequestedIP: opt(m.RequestedIP), ServerID: opt(m.ServerID), LeaseTime: m.LeaseTime,
		SubnetMask: opt(m.SubnetMask), Routers: addrs(m.Routers), DNSServers: addrs(m.DNSServers),
		DomainName: text(m.DomainName),
	}
	switch m.Op {
	case 1:
		e.Op = "request"
	case 2:
		e.Op = "reply"
	}
	if len(m.ClientID) > 0 {
		e.ClientID = hex.EncodeToString(m.ClientID)
	}
	codes := make([]byte, 0, len(m.Options))
	for _, o := range m.Options {
		codes = append(codes, o.Code)
	}
	e.Options = joinCodes(codes)
	if err != nil {
		e.Error = err.Error()
	}
	return e
}

// NewEvent6 converts a DHCPv6 message. ClientMAC comes from the client DUID
// when it embeds a link-layer address.
func NewEvent6(m *Message6, err error) Event {
	e := Event{
		Version: 6, MsgType: m.Type.String(), XID: fmt.Sprintf("0x%06x", m.XID),
		ClientMAC: DUIDLinkLayer(m.ClientDUID), FQDN: text(m.FQDN), UserClass: text(m.UserClass),
		Addresses: addrs(m.Addrs), Relays: m.Relays,
	}
	if m.Relays > 0 {
		e.PeerIP = addr(m.PeerAddr)
	}
	if len(m.ClientDUID) > 0 {
		e.ClientID = hex.EncodeToString(m.ClientDUID)
	}
	if len(m.ServerDUID) > 0 {
		e.ServerDUID = hex.EncodeToString(m.ServerDUID)
	}
	var vc []string
	for _, s := range m.VendorClass {
		vc = append(vc, text(s))
	}
	if len(vc) > 0 {
		e.VendorClass = strconv.FormatUint(uint64(m.Enterprise), 10) + ":" + strings.Join(vc, ",")
	}
	e.ParamList = join16(m.ORO)
	e.Options = join16(m.Options)
	if err != nil {
		e.Error = err.Error()
	}
	return e
}

func join16(v []uint16) string {
	var b strings.Builder
	for i, c := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(c)))
	}
	return b.String()
}
