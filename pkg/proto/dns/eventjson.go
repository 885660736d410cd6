package dns

import (
	"strconv"
	"unicode/utf8"
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
	b = appendString(b, e.Variant)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, uint64(e.ID), 10)
	b = append(b, `,"response":`...)
	b = strconv.AppendBool(b, e.Response)
	b = append(b, `,"opcode":`...)
	b = appendString(b, e.Opcode)
	if e.Rcode != "" {
		b = append(b, `,"rcode":`...)
		b = appendString(b, e.Rcode)
	}
	if len(e.Flags) > 0 {
		b = append(b, `,"flags":`...)
		b = appendStrings(b, e.Flags)
	}
	if len(e.Questions) > 0 {
		b = append(b, `,"questions":[`...)
		for i, q := range e.Questions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, q.Name)
			b = append(b, `,"type":`...)
			b = appendString(b, q.Type)
			if q.Class != "" {
				b = append(b, `,"class":`...)
				b = appendString(b, q.Class)
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
			b = appendString(b, x.ClientSubnet)
		}
		b = append(b, '}')
	}
	if e.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, e.Error)
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
		b = appendString(b, r.Name)
		b = append(b, `,"type":`...)
		b = appendString(b, r.Type)
		if r.Class != "" {
			b = append(b, `,"class":`...)
			b = appendString(b, r.Class)
		}
		if r.CacheFlush {
			b = append(b, `,"cache_flush":true`...)
		}
		b = append(b, `,"ttl":`...)
		b = strconv.AppendUint(b, uint64(r.TTL), 10)
		if r.Data != "" {
			b = append(b, `,"data":`...)
			b = appendString(b, r.Data)
		}
		if len(r.Strings) > 0 {
			b = append(b, `,"strings":`...)
			b = appendStrings(b, r.Strings)
		}
		if len(r.ALPN) > 0 {
			b = append(b, `,"alpn":`...)
			b = appendStrings(b, r.ALPN)
		}
		if len(r.Hints) > 0 {
			b = append(b, `,"ip_hints":`...)
			b = appendStrings(b, r.Hints)
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

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString quotes s as encoding/json does by default (HTML-safe:
// <, > and & escaped; U+2028, U+2029 escaped; invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
