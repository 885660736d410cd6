package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"
)

// Flow is one transport conversation (TCP connection, UDP or ICMP flow) as
// the flow table saw it. Bytes are frame bytes counted like `tshark -z conv`;
// Payload* are application bytes.
type Flow struct {
	ID          uint64    `json:"id"` // 1-based, in order of first frame
	Transport   string    `json:"transport"`
	Client      string    `json:"client"` // ip:port of the side that opened the flow
	Server      string    `json:"server"`
	Device      string    `json:"device,omitempty"` // Device.ID of the local side
	PacketsUp   uint64    `json:"packets_up"`
	PacketsDown uint64    `json:"packets_down"`
	BytesUp     uint64    `json:"bytes_up"`
	BytesDown   uint64    `json:"bytes_down"`
	PayloadUp   uint64    `json:"payload_up"`
	PayloadDown uint64    `json:"payload_down"`
	FirstFrame  uint64    `json:"first_frame"`
	Input       string    `json:"input,omitempty"` // path of FirstFrame's input, when there are several
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
	Protocol    string    `json:"protocol,omitempty"` // dns, http, tls, quic, mqtt, ...
	Name        string    `json:"name,omitempty"`
	NameSource  string    `json:"name_source,omitempty"`
	Channel     string    `json:"channel,omitempty"`
	State       string    `json:"state,omitempty"` // closed, reset, timeout, open, evicted
	GapBytes    uint64    `json:"gap_bytes,omitempty"`
}

// Event is one decoded protocol event (a DNS message, an HTTP request, a TLS
// ClientHello...). Fields is a struct with its own JSON tags; MarshalJSON
// flattens it next to the common keys, like Suricata's eve.json:
// {"type":"dns","frame":12,"ts":"...","flow_id":3, ...fields}.
type Event struct {
	Type  string
	Frame uint64
	// Input is the path of Frame's input when the run read more than one
	// (frame numbers restart in each file); written as "input" after
	// "frame" when set.
	Input  string
	Time   time.Time
	FlowID uint64
	Fields any
}

// JSONAppender is implemented by event fields that write their own JSON
// object, compact and exactly as encoding/json would write them (DNS
// events): Event's encoding appends it as is, without encoding/json's
// reflection and its re-validation of a MarshalJSON result.
type JSONAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// MarshalJSON writes the common keys first, then the fields of Fields.
func (e Event) MarshalJSON() ([]byte, error) {
	b, _, err := e.appendJSON(make([]byte, 0, 1024))
	return b, err
}

// MarshalJSONFlowLater marshals an event whose FlowID is not known yet
// (e.FlowID must be 0): flowIDAt is where `,"flow_id":N` belongs.
func (e Event) MarshalJSONFlowLater() (b []byte, flowIDAt int, err error) {
	return e.AppendJSONFlowLater(make([]byte, 0, 1024))
}

// AppendJSONFlowLater is MarshalJSONFlowLater appending to b; flowIDAt
// is an index in the returned slice. On error b is returned unchanged.
func (e Event) AppendJSONFlowLater(b []byte) (_ []byte, flowIDAt int, err error) {
	if e.FlowID != 0 {
		return b, 0, errors.New("audit: MarshalJSONFlowLater of an event with a flow ID")
	}
	return e.appendJSON(b)
}

func (e Event) appendJSON(b []byte) ([]byte, int, error) {
	orig := len(b)
	b = append(b, `{"type":`...)
	b = AppendJSONString(b, e.Type)
	b = append(b, `,"frame":`...)
	b = strconv.AppendUint(b, e.Frame, 10)
	if e.Input != "" {
		b = append(b, `,"input":`...)
		b = AppendJSONString(b, e.Input)
	}
	b = append(b, `,"ts":`...)
	b, err := appendTime(b, e.Time.UTC())
	if err != nil {
		return b[:orig], 0, err
	}
	at := len(b)
	if e.FlowID != 0 {
		b = append(b, `,"flow_id":`...)
		b = strconv.AppendUint(b, e.FlowID, 10)
	}
	if a, ok := e.Fields.(JSONAppender); ok {
		// The fields' object is appended right after the common keys,
		// its braces turned into a comma and the closing brace.
		start := len(b)
		b, err := a.AppendJSON(b)
		if err != nil {
			return b[:orig], 0, err
		}
		if len(b)-start > 2 && b[start] == '{' {
			b[start] = ','
		} else {
			b = append(b[:start], '}')
		}
		return b, at, nil
	}
	if e.Fields != nil {
		// json.Marshal's bytes, from an encoder and buffer reused across
		// events (Marshal allocates its result for every event).
		fe := fieldEncoders.Get().(*fieldEncoder)
		defer fieldEncoders.Put(fe)
		fe.buf.Reset()
		if err := fe.enc.Encode(e.Fields); err != nil {
			return b[:orig], 0, err
		}
		body := bytes.TrimSpace(fe.buf.Bytes())
		if len(body) > 2 && body[0] == '{' {
			b = append(b, ',')
			b = append(b, body[1:len(body)-1]...)
		}
	}
	return append(b, '}'), at, nil
}

// fieldEncoder encodes the Fields of events without an appender.
type fieldEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var fieldEncoders = sync.Pool{New: func() any {
	fe := &fieldEncoder{}
	fe.enc = json.NewEncoder(&fe.buf)
	return fe
}}
