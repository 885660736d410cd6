package dns

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// EventType is the "type" of DNS events.
const EventType = "dns"

// Event is the JSON form of one DNS message (event type "dns"); see
// docs/events.md. Names keep the case they had on the wire.
type Event struct {
	Variant    string          `json:"variant"` // dns, mdns, llmnr
	ID         uint16          `json:"id"`
	Response   bool            `json:"response"`
	Opcode     string          `json:"opcode"`
	Rcode      string          `json:"rcode,omitempty"` // responses only
	Flags      []string        `json:"flags,omitempty"` // aa, tc, rd, ra, ad, cd
	Questions  []QuestionEvent `json:"questions,omitempty"`
	Answers    []RecordEvent   `json:"answers,omitempty"`
	Authority  []RecordEvent   `json:"authority,omitempty"`
	Additional []RecordEvent   `json:"additional,omitempty"`
	EDNS       *EDNSEvent      `json:"edns,omitempty"`
	Error      string          `json:"error,omitempty"` // why decoding stopped early
}

// QuestionEvent is one question.
type QuestionEvent struct {
	Name            string `json:"name"`
	Type            string `json:"type"`
	Class           string `json:"class,omitempty"` // omitted for IN
	UnicastResponse bool   `json:"unicast_response,omitempty"`
}

// RecordEvent is one resource record (OPT records are reported as EDNS).
type RecordEvent struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Class      string   `json:"class,omitempty"` // omitted for IN
	CacheFlush bool     `json:"cache_flush,omitempty"`
	TTL        uint32   `json:"ttl"`
	Data       string   `json:"data,omitempty"` // presentation of the main value
	Strings    []string `json:"strings,omitempty"`
	ALPN       []string `json:"alpn,omitempty"`
	Hints      []string `json:"ip_hints,omitempty"`
	Port       uint16   `json:"port,omitempty"`
	ECH        bool     `json:"ech,omitempty"`
	Length     int      `json:"rdata_len"`
}

// EDNSEvent is the OPT pseudo-record.
type EDNSEvent struct {
	UDPSize      uint16 `json:"udp_size"`
	Version      uint8  `json:"version"`
	DO           bool   `json:"do,omitempty"`
	ClientSubnet string `json:"client_subnet,omitempty"`
}

// Variant names the protocol by its UDP/TCP port: "mdns" for 5353, "llmnr"
// for 5355, "dns" otherwise.
func Variant(srcPort, dstPort uint16) string {
	switch {
	case srcPort == 5353 || dstPort == 5353:
		return "mdns"
	case srcPort == 5355 || dstPort == 5355:
		return "llmnr"
	}
	return "dns"
}

// NewEvent converts m into its event. err is Parse's error, if any.
func NewEvent(m *Message, variant string, err error) Event {
	e := Event{Variant: variant, ID: m.ID, Response: m.Response, Opcode: OpcodeString(m.Opcode)}
	if m.Response {
		e.Rcode = RcodeString(m.Rcode)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{m.AA, "aa"}, {m.TC, "tc"}, {m.RD, "rd"}, {m.RA, "ra"}, {m.AD, "ad"}, {m.CD, "cd"}} {
		if f.on {
			e.Flags = append(e.Flags, f.name)
		}
	}
	for _, q := range m.Questions {
		e.Questions = append(e.Questions, QuestionEvent{
			Name: string(q.Name), Type: q.Type.String(), Class: classString(q.Class), UnicastResponse: q.UnicastResponse,
		})
	}
	e.Answers = records(m.Answers)
	e.Authority = records(m.Authority)
	e.Additional = records(m.Additional)
	if m.EDNS.Present {
		e.EDNS = &EDNSEvent{UDPSize: m.EDNS.UDPSize, Version: m.EDNS.Version, DO: m.EDNS.DO}
		if m.EDNS.ClientSubnet.IsValid() {
			e.EDNS.ClientSubnet = m.EDNS.ClientSubnet.String()
		}
	}
	if err != nil {
		e.Error = err.Error()
	}
	return e
}

func records(rrs []RR) []RecordEvent {
	var out []RecordEvent
	for i := range rrs {
		rr := &rrs[i]
		if rr.Type == TypeOPT {
			continue
		}
		r := RecordEvent{
			Name: string(rr.Name), Type: rr.Type.String(), Class: classString(rr.Class),
			CacheFlush: rr.CacheFlush, TTL: rr.TTL, Length: len(rr.Data),
		}
		switch rr.Type {
		case TypeA, TypeAAAA:
			r.Data = rr.Addr.String()
		case TypeCNAME, TypeDNAME, TypeNS, TypePTR, TypeSOA:
			r.Data = string(rr.Target)
		case TypeMX:
			r.Data = strconv.Itoa(int(rr.Priority)) + " " + string(rr.Target)
		case TypeSRV:
			r.Data = strconv.Itoa(int(rr.Priority)) + " " + strconv.Itoa(int(rr.Weight)) + " " +
				strconv.Itoa(int(rr.Port)) + " " + string(rr.Target)
		case TypeSVCB, TypeHTTPS:
			r.Data = strconv.Itoa(int(rr.Priority)) + " " + string(rr.Target)
			r.Port, r.ECH = rr.Port, rr.ECH
			for _, a := range rr.ALPN {
				r.ALPN = append(r.ALPN, printable(a))
			}
			for _, h := range rr.Hints {
				r.Hints = append(r.Hints, h.String())
			}
		case TypeTXT, TypeHINFO:
			for _, s := range rr.Strings {
				r.Strings = append(r.Strings, printable(s))
			}
		}
		out = append(out, r)
	}
	return out
}

// printable returns s with backslashes, control bytes and invalid UTF-8
// escaped as \xHH.
func printable(s []byte) string {
	const hex = "0123456789abcdef"
	valid := utf8.Valid(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, c := range s {
		if c == '\\' || c < 0x20 || c == 0x7F || (c >= 0x80 && !valid) {
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func classString(c uint16) string {
	switch c {
	case 1:
		return ""
	case 3:
		return "CH"
	case 4:
		return "HS"
	case 254:
		return "NONE"
	case 255:
		return "ANY"
	}
	return "CLASS" + strconv.Itoa(int(c))
}

var opcodes = [...]string{0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE", 6: "DSO"}

// OpcodeString names an opcode ("QUERY") or returns its number.
func OpcodeString(op uint8) string {
	if int(op) < len(opcodes) && opcodes[op] != "" {
		return opcodes[op]
	}
	return strconv.Itoa(int(op))
}

var rcodes = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", "", "", "", "", "BADVERS"}

// RcodeString names a response code ("NXDOMAIN") or returns its number.
func RcodeString(rc uint16) string {
	if int(rc) < len(rcodes) && rcodes[rc] != "" {
		return rcodes[rc]
	}
	return strconv.Itoa(int(rc))
}
