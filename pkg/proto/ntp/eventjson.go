package ntp

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestEventAppendersMatchEncodingJSON).
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	o := jsonw.Open(b)
	o.Uint("version", uint64(e.Version))
	o.String("mode", e.Mode)
	o.OptUint("leap", uint64(e.Leap))
	o.Uint("stratum", uint64(e.Stratum))
	o.OptInt("poll", int64(e.Poll))
	o.OptInt("precision", int64(e.Precision))
	o.OptFloat("root_delay", e.RootDelay)
	o.OptFloat("root_dispersion", e.RootDispersion)
	o.OptString("ref_id", e.RefID)
	o.OptString("kiss_code", e.KissCode)
	o.OptString("reference_time", e.ReferenceTime)
	o.OptString("origin_time", e.OriginTime)
	o.OptString("receive_time", e.ReceiveTime)
	o.OptString("transmit_time", e.TransmitTime)
	o.OptInt("extra_len", int64(e.ExtraLen))
	o.OptUint("opcode", uint64(e.Opcode))
	o.OptBool("response", e.Response)
	o.OptString("error", e.Error)
	return o.Close()
}
