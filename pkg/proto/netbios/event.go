package netbios

import (
	"fmt"
	"net"
)

// EventType is the "type" of NetBIOS events.
const EventType = "netbios"

// Event is the JSON form of a name service or datagram service packet
// (event type "netbios"); see docs/events.md. Names are written
// NAME<xx> with the suffix in hex.
type Event struct {
	Service     string        `json:"service"` // "ns" (137) or "dgm" (138)
	Opcode      string        `json:"opcode,omitempty"`
	Response    bool          `json:"response,omitempty"`
	Rcode       uint8         `json:"rcode,omitempty"`
	Broadcast   bool          `json:"broadcast,omitempty"`
	Questions   []string      `json:"questions,omitempty"`
	Records     []RecordEvent `json:"records,omitempty"`
	Source      string        `json:"source_name,omitempty"` // dgm
	Destination string        `json:"destination_name,omitempty"`
	SourceIP    string        `json:"source_ip,omitempty"`
	DgmType     uint8         `json:"dgm_type,omitempty"`
	Error       string        `json:"error,omitempty"`
}

// RecordEvent is one resource record.
type RecordEvent struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	TTL   uint32   `json:"ttl"`
	Addrs []string `json:"addrs,omitempty"`
	Names []string `json:"names,omitempty"` // NBSTAT name table
	MAC   string   `json:"mac,omitempty"`   // NBSTAT unit id
}

var opcodes = map[uint8]string{0: "query", 5: "registration", 6: "release", 7: "wack", 8: "refresh", 9: "refresh", 15: "multihomed-registration"}

func typeString(t uint16) string {
	switch t {
	case TypeNB:
		return "NB"
	case TypeNBSTAT:
		return "NBSTAT"
	}
	return fmt.Sprintf("0x%04x", t)
}

// NewEvent converts a name service message.
func NewEvent(m *Message, err error) Event {
	e := Event{Service: "ns", Opcode: opcodes[m.Opcode], Response: m.Response, Rcode: m.Rcode, Broadcast: m.Flags&1 != 0}
	if e.Opcode == "" {
		e.Opcode = fmt.Sprint(m.Opcode)
	}
	for _, q := range m.Questions {
		e.Questions = append(e.Questions, q.Name.String())
	}
	for _, r := range m.Records {
		re := RecordEvent{Name: r.Name.String(), Type: typeString(r.Type), TTL: r.TTL}
		for _, a := range r.Addrs {
			re.Addrs = append(re.Addrs, a.String())
		}
		for _, n := range r.Entries {
			re.Names = append(re.Names, n.Name.String())
		}
		if r.HasMAC {
			re.MAC = net.HardwareAddr(r.MAC[:]).String()
		}
		e.Records = append(e.Records, re)
	}
	if err != nil {
		e.Error = err.Error()
	}
	return e
}

// NewDatagramEvent converts a datagram service header.
func NewDatagramEvent(d *Datagram, err error) Event {
	e := Event{Service: "dgm", DgmType: d.Type, SourceIP: d.SourceIP.String()}
	if d.Source.Name != "" || d.Source.Suffix != 0 {
		e.Source = d.Source.String()
		e.Destination = d.Destination.String()
	}
	if err != nil {
		e.Error = err.Error()
	}
	return e
}
