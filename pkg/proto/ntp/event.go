package ntp

import "time"

// EventType is the "type" of NTP events.
const EventType = "ntp"

// Event is the JSON form of one NTP packet (event type "ntp"); see
// docs/events.md.
type Event struct {
	Version        uint8   `json:"version"`
	Mode           string  `json:"mode"`
	Leap           uint8   `json:"leap,omitempty"`
	Stratum        uint8   `json:"stratum"`
	Poll           int8    `json:"poll,omitempty"`
	Precision      int8    `json:"precision,omitempty"`
	RootDelay      float64 `json:"root_delay,omitempty"`      // seconds
	RootDispersion float64 `json:"root_dispersion,omitempty"` // seconds
	RefID          string  `json:"ref_id,omitempty"`
	KissCode       string  `json:"kiss_code,omitempty"` // stratum 0 servers: RATE, DENY...
	ReferenceTime  string  `json:"reference_time,omitempty"`
	OriginTime     string  `json:"origin_time,omitempty"`
	ReceiveTime    string  `json:"receive_time,omitempty"`
	TransmitTime   string  `json:"transmit_time,omitempty"`
	ExtraLen       int     `json:"extra_len,omitempty"` // extension fields and MAC
	Opcode         uint8   `json:"opcode,omitempty"`    // modes 6 and 7
	Response       bool    `json:"response,omitempty"`  // modes 6 and 7
	Error          string  `json:"error,omitempty"`
}

func ts(t Timestamp) string {
	if t == 0 {
		return ""
	}
	return t.Time().Format(time.RFC3339Nano)
}

// NewEvent converts m. err is Parse's error, if any.
func NewEvent(m *Message, err error) Event {
	e := Event{
		Version: m.Version, Mode: m.Mode.String(), Leap: m.Leap, Stratum: m.Stratum, Poll: m.Poll,
		Precision: m.Precision, RootDelay: m.RootDelay.Seconds(), RootDispersion: m.RootDispersion.Seconds(),
		ReferenceTime: ts(m.Reference), OriginTime: ts(m.Origin), ReceiveTime: ts(m.Receive),
		TransmitTime: ts(m.Transmit), ExtraLen: len(m.Extra), Opcode: m.Opcode, Response: m.Response,
	}
	if m.Mode >= 1 && m.Mode <= 5 {
		if m.Stratum == 0 && m.Mode != ModeClient && m.Mode != ModeSymmetricActive {
			e.KissCode = m.RefIDString()
		} else {
			e.RefID = m.RefIDString()
		}
	}
	if err != nil {
		e.Error = err.Error()
	}
	return e
}
