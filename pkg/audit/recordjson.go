package audit

import (
	"encoding/json"
	"strconv"
	"time"
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

// AppendJSONString appends s quoted as encoding/json quotes it. Printable
// ASCII (addresses, names, enumerations: nearly every string of a record)
// is copied, with '<', '>' and '&' escaped as \u003c, \u003e and \u0026
// (a provisional device ID, "pair:.../...>.../...", has one); anything
// else is left to encoding/json, whose escaping (quotes, control bytes,
// U+2028/2029, invalid UTF-8) is the definition.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	orig := len(b)
	b = append(b, '"')
	plain := 0 // s[plain:] is not yet appended
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plainJSON[c] {
			continue
		}
		if c != '<' && c != '>' && c != '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b[:orig], q...)
		}
		b = append(b, s[plain:i]...)
		b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		plain = i + 1
	}
	b = append(b, s[plain:]...)
	return append(b, '"')
}

// plainJSON marks the bytes AppendJSONString copies as they are: printable
// ASCII but for '"', '\\', '<', '>' and '&' (one lookup per byte instead
// of seven comparisons).
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendTime appends t as time.Time's MarshalJSON writes it (RFC 3339
// with nanoseconds, quoted); years outside 0–9999 are an error, as there.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		return b, err
	}
	return append(out, '"'), nil
}
