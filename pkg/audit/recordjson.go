package audit

import (
	"strconv"
	"time"

	"github.com/phonehome/phonehome/internal/jsonw"
)

// AppendJSON appends the flow record as encoding/json marshals it, without
// reflection (the spool encodes every flow of a json or ndjson run).
func (f *Flow) AppendJSON(b []byte) ([]byte, error) {
	orig := len(b)
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, f.ID, 10)
	b = append(b, `,"transport":`...)
	b = AppendJSONString(b, f.Transport)
	b = append(b, `,"client":`...)
	b = AppendJSONString(b, f.Client)
	b = append(b, `,"server":`...)
	b = AppendJSONString(b, f.Server)
	b = appendOptString(b, `,"device":`, f.Device)
	for _, n := range [...]struct {
		key string
		v   uint64
	}{{`,"packets_up":`, f.PacketsUp}, {`,"packets_down":`, f.PacketsDown}, {`,"bytes_up":`, f.BytesUp},
		{`,"bytes_down":`, f.BytesDown}, {`,"payload_up":`, f.PayloadUp}, {`,"payload_down":`, f.PayloadDown},
		{`,"first_frame":`, f.FirstFrame}} {
		b = append(b, n.key...)
		b = strconv.AppendUint(b, n.v, 10)
	}
	b = appendOptString(b, `,"input":`, f.Input)
	var err error
	b = append(b, `,"first":`...)
	if b, err = appendTime(b, f.First); err != nil {
		return b[:orig], err
	}
	b = append(b, `,"last":`...)
	if b, err = appendTime(b, f.Last); err != nil {
		return b[:orig], err
	}
	b = appendOptString(b, `,"protocol":`, f.Protocol)
	b = appendOptString(b, `,"name":`, f.Name)
	b = appendOptString(b, `,"name_source":`, f.NameSource)
	b = appendOptString(b, `,"channel":`, f.Channel)
	b = appendOptString(b, `,"state":`, f.State)
	if f.GapBytes != 0 {
		b = append(b, `,"gap_bytes":`...)
		b = strconv.AppendUint(b, f.GapBytes, 10)
	}
	return append(b, '}'), nil
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return AppendJSONString(append(b, key...), s)
}

// AppendJSONString appends s quoted as encoding/json quotes it
// (HTML-safe, as jsonw.String).
func AppendJSONString(b []byte, s string) []byte {
	return jsonw.String(b, s)
}

// appendTime appends t as time.Time's MarshalJSON writes it (RFC 3339
// with nanoseconds, quoted); years outside 0–9999 are an error, as there.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		return b, err
	}
	return append(out, '"'), nil
}
