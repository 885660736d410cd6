package dns

import (
	"net/netip"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/phonehome/phonehome/internal/jsonw"
)

// MarshalJSON writes the event as encoding/json would from its struct tags
// (same keys, order, omitempty rules and string escaping; a test compares
// the two on every corpus message and a fuzz target on any input). DNS
// events are most of the events of a capture, and the reflective encoder
// was most of the cost of writing them.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(make([]byte, 0, 256)) }

// AppendJSON appends MarshalJSON's encoding to b (audit.JSONAppender).
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"variant":`...)
	b = jsonw.String(b, e.Variant)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, uint64(e.ID), 10)
	b = append(b, `,"response":`...)
	b = strconv.AppendBool(b, e.Response)
	b = append(b, `,"opcode":`...)
	b = jsonw.String(b, e.Opcode)
	if e.Rcode != "" {
		b = append(b, `,"rcode":`...)
		b = jsonw.String(b, e.Rcode)
	}
	if len(e.Flags) > 0 {
		b = append(b, `,"flags":`...)
		b = jsonw.Strings(b, e.Flags)
	}
	if len(e.Questions) > 0 {
		b = append(b, `,"questions":[`...)
		for i, q := range e.Questions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = jsonw.String(b, q.Name)
			b = append(b, `,"type":`...)
			b = jsonw.String(b, q.Type)
			if q.Class != "" {
				b = append(b, `,"class":`...)
				b = jsonw.String(b, q.Class)
			}
			if q.UnicastResponse {
				b = append(b, `,"unicast_response":true`...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendRecords(b, "answers", e.Answers)
	b = appendRecords(b, "authority", e.Authority)
	b = appendRecords(b, "additional", e.Additional)
	if x := e.EDNS; x != nil {
		b = append(b, `,"edns":{"udp_size":`...)
		b = strconv.AppendUint(b, uint64(x.UDPSize), 10)
		b = append(b, `,"version":`...)
		b = strconv.AppendUint(b, uint64(x.Version), 10)
		if x.DO {
			b = append(b, `,"do":true`...)
		}
		if x.ClientSubnet != "" {
			b = append(b, `,"client_subnet":`...)
			b = jsonw.String(b, x.ClientSubnet)
		}
		b = append(b, '}')
	}
	if e.Error != "" {
		b = append(b, `,"error":`...)
		b = jsonw.String(b, e.Error)
	}
	return append(b, '}'), nil
}

func appendRecords(b []byte, key string, rs []RecordEvent) []byte {
	if len(rs) == 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = jsonw.String(b, r.Name)
		b = append(b, `,"type":`...)
		b = jsonw.String(b, r.Type)
		if r.Class != "" {
			b = append(b, `,"class":`...)
			b = jsonw.String(b, r.Class)
		}
		if r.CacheFlush {
			b = append(b, `,"cache_flush":true`...)
		}
		b = append(b, `,"ttl":`...)
		b = strconv.AppendUint(b, uint64(r.TTL), 10)
		if r.Data != "" {
			b = append(b, `,"data":`...)
			b = jsonw.String(b, r.Data)
		}
		if len(r.Strings) > 0 {
			b = append(b, `,"strings":`...)
			b = jsonw.Strings(b, r.Strings)
		}
		if len(r.ALPN) > 0 {
			b = append(b, `,"alpn":`...)
			b = jsonw.Strings(b, r.ALPN)
		}
		if len(r.Hints) > 0 {
			b = append(b, `,"ip_hints":`...)
			b = jsonw.Strings(b, r.Hints)
		}
		if r.Port != 0 {
			b = append(b, `,"port":`...)
			b = strconv.AppendUint(b, uint64(r.Port), 10)
		}
		if r.ECH {
			b = append(b, `,"ech":true`...)
		}
		b = append(b, `,"rdata_len":`...)
		b = strconv.AppendInt(b, int64(r.Length), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// TransientFields returns the record's event fields as a JSON appender
// that writes them straight from the parsed message, without making the
// Event (its strings per record were most of the allocations of json and
// ndjson output): the same bytes as Event().AppendJSON (TestRecordJSON,
// FuzzParse). Like the Record it is valid only during the Emit call, so
// the engine uses it for an event it encodes at once (its spool).
func (r *Record) TransientFields() any { return (*recordJSON)(r) }

// recordJSON is a Record written as its Event's JSON.
type recordJSON Record

// AppendJSON implements audit.JSONAppender.
func (rj *recordJSON) AppendJSON(b []byte) ([]byte, error) {
	r := (*Record)(rj)
	if r.built {
		return r.ev.AppendJSON(b)
	}
	m := r.Msg
	b = append(b, `{"variant":`...)
	b = jsonw.String(b, r.Variant)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, uint64(m.ID), 10)
	b = append(b, `,"response":`...)
	b = strconv.AppendBool(b, m.Response)
	b = append(b, `,"opcode":`...)
	b = jsonw.String(b, OpcodeString(m.Opcode))
	if m.Response {
		b = append(b, `,"rcode":`...)
		b = jsonw.String(b, RcodeString(m.Rcode))
	}
	if m.AA || m.TC || m.RD || m.RA || m.AD || m.CD {
		b = append(b, `,"flags":[`...)
		first := true
		for _, f := range [...]struct {
			on   bool
			name string
		}{{m.AA, `"aa"`}, {m.TC, `"tc"`}, {m.RD, `"rd"`}, {m.RA, `"ra"`}, {m.AD, `"ad"`}, {m.CD, `"cd"`}} {
			if f.on {
				if !first {
					b = append(b, ',')
				}
				first = false
				b = append(b, f.name...)
			}
		}
		b = append(b, ']')
	}
	if len(m.Questions) > 0 {
		b = append(b, `,"questions":[`...)
		for i := range m.Questions {
			q := &m.Questions[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = jsonw.String(b, bytesString(q.Name))
			b = append(b, `,"type":`...)
			b = jsonw.String(b, q.Type.String())
			if c := classString(q.Class); c != "" {
				b = append(b, `,"class":`...)
				b = jsonw.String(b, c)
			}
			if q.UnicastResponse {
				b = append(b, `,"unicast_response":true`...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	var tmp [64]byte // presentation forms, escaped from here
	b = appendRRs(b, "answers", m.Answers, tmp[:0])
	b = appendRRs(b, "authority", m.Authority, tmp[:0])
	b = appendRRs(b, "additional", m.Additional, tmp[:0])
	if x := &m.EDNS; x.Present {
		b = append(b, `,"edns":{"udp_size":`...)
		b = strconv.AppendUint(b, uint64(x.UDPSize), 10)
		b = append(b, `,"version":`...)
		b = strconv.AppendUint(b, uint64(x.Version), 10)
		if x.DO {
			b = append(b, `,"do":true`...)
		}
		if x.ClientSubnet.IsValid() {
			b = append(b, `,"client_subnet":`...)
			b = jsonw.String(b, bytesString(x.ClientSubnet.AppendTo(tmp[:0])))
		}
		b = append(b, '}')
	}
	if r.Err != nil {
		if s := r.Err.Error(); s != "" {
			b = append(b, `,"error":`...)
			b = jsonw.String(b, s)
		}
	}
	return append(b, '}'), nil
}

// appendRRs is appendRecords for the records as parsed (records' strings,
// written without being made).
func appendRRs(b []byte, key string, rrs []RR, tmp []byte) []byte {
	n := 0
	for i := range rrs {
		rr := &rrs[i]
		if rr.Type == TypeOPT {
			continue
		}
		if n == 0 {
			b = append(b, `,"`...)
			b = append(b, key...)
			b = append(b, `":[`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"name":`...)
		b = jsonw.String(b, bytesString(rr.Name))
		b = append(b, `,"type":`...)
		b = jsonw.String(b, rr.Type.String())
		if c := classString(rr.Class); c != "" {
			b = append(b, `,"class":`...)
			b = jsonw.String(b, c)
		}
		if rr.CacheFlush {
			b = append(b, `,"cache_flush":true`...)
		}
		b = append(b, `,"ttl":`...)
		b = strconv.AppendUint(b, uint64(rr.TTL), 10)
		data := tmp[:0]
		switch rr.Type {
		case TypeA, TypeAAAA:
			data = appendAddr(data, rr.Addr)
		case TypeCNAME, TypeDNAME, TypeNS, TypePTR, TypeSOA:
			data = rr.Target
		case TypeMX, TypeSVCB, TypeHTTPS:
			data = strconv.AppendUint(data, uint64(rr.Priority), 10)
			data = append(append(data, ' '), rr.Target...)
		case TypeSRV:
			data = strconv.AppendUint(data, uint64(rr.Priority), 10)
			data = strconv.AppendUint(append(data, ' '), uint64(rr.Weight), 10)
			data = strconv.AppendUint(append(data, ' '), uint64(rr.Port), 10)
			data = append(append(data, ' '), rr.Target...)
		}
		if len(data) > 0 {
			b = append(b, `,"data":`...)
			b = jsonw.String(b, bytesString(data))
		}
		svcb := rr.Type == TypeSVCB || rr.Type == TypeHTTPS
		if (rr.Type == TypeTXT || rr.Type == TypeHINFO) && len(rr.Strings) > 0 {
			b = appendPrintables(b, "strings", rr.Strings, tmp)
		}
		if svcb && len(rr.ALPN) > 0 {
			b = appendPrintables(b, "alpn", rr.ALPN, tmp)
		}
		if svcb && len(rr.Hints) > 0 {
			b = append(b, `,"ip_hints":[`...)
			for i, h := range rr.Hints {
				if i > 0 {
					b = append(b, ',')
				}
				b = jsonw.String(b, bytesString(appendAddr(tmp[:0], h)))
			}
			b = append(b, ']')
		}
		if svcb && rr.Port != 0 {
			b = append(b, `,"port":`...)
			b = strconv.AppendUint(b, uint64(rr.Port), 10)
		}
		if svcb && rr.ECH {
			b = append(b, `,"ech":true`...)
		}
		b = append(b, `,"rdata_len":`...)
		b = strconv.AppendInt(b, int64(len(rr.Data)), 10)
		b = append(b, '}')
	}
	if n > 0 {
		b = append(b, ']')
	}
	return b
}

// appendAddr appends a.String() (AppendTo writes nothing for the zero
// Addr, String "invalid IP").
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "invalid IP"...)
	}
	return a.AppendTo(b)
}

func appendPrintables(b []byte, key string, ss [][]byte, tmp []byte) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.String(b, bytesString(appendPrintable(tmp[:0], s)))
	}
	return append(b, ']')
}

// appendPrintable appends printable(s).
func appendPrintable(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	valid := utf8.Valid(s)
	for _, c := range s {
		if c == '\\' || c < 0x20 || c == 0x7F || (c >= 0x80 && !valid) {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// bytesString is b as a string without copying, for jsonw.String, which
// keeps nothing of it.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
