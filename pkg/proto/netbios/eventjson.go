package netbios

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestEventAppendersMatchEncodingJSON).
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	o := jsonw.Open(b)
	o.String("service", e.Service)
	o.OptString("opcode", e.Opcode)
	o.OptBool("response", e.Response)
	o.OptUint("rcode", uint64(e.Rcode))
	o.OptBool("broadcast", e.Broadcast)
	o.OptStrings("questions", e.Questions)
	if len(e.Records) > 0 {
		o.Key("records")
		o.B = append(o.B, '[')
		for i, r := range e.Records {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			ro := jsonw.Open(o.B)
			ro.String("name", r.Name)
			ro.String("type", r.Type)
			ro.Uint("ttl", uint64(r.TTL))
			ro.OptStrings("addrs", r.Addrs)
			ro.OptStrings("names", r.Names)
			ro.OptString("mac", r.MAC)
			o.B, _ = ro.Close()
		}
		o.B = append(o.B, ']')
	}
	o.OptString("source_name", e.Source)
	o.OptString("destination_name", e.Destination)
	o.OptString("source_ip", e.SourceIP)
	o.OptUint("dgm_type", uint64(e.DgmType))
	o.OptString("error", e.Error)
	return o.Close()
}
