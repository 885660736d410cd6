package ssdp

import (
	"strings"
	"unicode/utf8"
)

// EventType is the "type" of SSDP events.
const EventType = "ssdp"

// Event is the JSON form of one SSDP message (event type "ssdp"); see
// docs/events.md.
type Event struct {
	Kind         string   `json:"kind"` // notify, m-search, response
	Status       int      `json:"status,omitempty"`
	Host         string   `json:"host,omitempty"`
	Server       string   `json:"server,omitempty"`
	UserAgent    string   `json:"user_agent,omitempty"`
	USN          string   `json:"usn,omitempty"`
	NT           string   `json:"nt,omitempty"`
	NTS          string   `json:"nts,omitempty"`
	ST           string   `json:"st,omitempty"`
	Location     string   `json:"location,omitempty"`
	CacheControl string   `json:"cache_control,omitempty"`
	MAN          string   `json:"man,omitempty"`
	MX           string   `json:"mx,omitempty"`
	FriendlyName string   `json:"friendly_name,omitempty"`
	Headers      []string `json:"headers"` // header names in order
	Partial      bool     `json:"partial,omitempty"`
}

// text returns b with invalid UTF-8 and control characters replaced by "?".
func text(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// NewEvent converts m.
func NewEvent(m *Message) Event {
	e := Event{
		Kind: m.Kind, Status: m.Status, Host: text(m.Host), Server: text(m.Server), UserAgent: text(m.UserAgent),
		USN: text(m.USN), NT: text(m.NT), NTS: text(m.NTS), ST: text(m.ST), Location: text(m.Location),
		CacheControl: text(m.CacheControl), MAN: text(m.MAN), MX: text(m.MX),
		FriendlyName: text(m.FriendlyName), Partial: m.Partial, Headers: []string{},
	}
	for _, h := range m.Headers {
		e.Headers = append(e.Headers, text(h.Name))
	}
	return e
}
