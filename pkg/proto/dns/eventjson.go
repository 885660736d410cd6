package dns

import (
	"github.com/phonehome/phonehome/pkg/proto/internal/jsonw"
	"strconv"
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
