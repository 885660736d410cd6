// Package ssdp decodes SSDP (UPnP discovery, HTTP over UDP on port 1900):
// NOTIFY announcements, M-SEARCH queries and their responses. Devices
// announce their server software, unique ids (USN/UUID), service types and
// the URL of their description document, whose friendly name often holds
// the owner's name; ParseDescription reads that document when the HTTP
// decoder sees it.
package ssdp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Errors returned (wrapped) by Parse and ParseDescription.
var (
	ErrNotSSDP  = errors.New("ssdp: not an SSDP message")
	ErrTooLarge = errors.New("ssdp: description larger than the limit")
)

// MaxHeaders bounds the headers kept per message.
const MaxHeaders = 64

// Kind of SSDP message.
const (
	KindNotify   = "notify"
	KindMSearch  = "m-search"
	KindResponse = "response"
)

// Header is one header line as sent.
type Header struct {
	Name, Value []byte
}

// Message is a decoded SSDP message. Byte slices alias the input.
type Message struct {
	Kind   string // KindNotify, KindMSearch or KindResponse
	Status int    // responses
	// Well-known headers (case-insensitive names).
	Host, Server, UserAgent, USN, NT, NTS, ST, Location, CacheControl, MAN, MX []byte
	// FriendlyName is any header whose name contains "friendly-name" (some
	// devices and DIAL servers announce one).
	FriendlyName []byte
	Headers      []Header
	Partial      bool // headers beyond MaxHeaders were dropped, or no blank line ended them
}

var starts = [][]byte{[]byte("NOTIFY * HTTP/1."), []byte("M-SEARCH * HTTP/1."), []byte("HTTP/1.")}

// Detect reports whether b starts like an SSDP message: a NOTIFY or
// M-SEARCH request line for "*", or an HTTP status line followed by an ST
// or USN header.
func Detect(b []byte) bool {
	switch {
	case bytes.HasPrefix(b, starts[0]), bytes.HasPrefix(b, starts[1]):
		return true
	case bytes.HasPrefix(b, starts[2]):
		var m Message
		return Parse(b, &m) == nil && (m.ST != nil || m.USN != nil)
	}
	return false
}

// Parse decodes b into m.
func Parse(b []byte, m *Message) error {
	*m = Message{Headers: m.Headers[:0]}
	line, rest := cutLine(b)
	switch {
	case bytes.HasPrefix(line, starts[0]):
		m.Kind = KindNotify
	case bytes.HasPrefix(line, starts[1]):
		m.Kind = KindMSearch
	case bytes.HasPrefix(line, starts[2]):
		m.Kind = KindResponse
		f := bytes.Fields(line)
		if len(f) < 2 {
			return fmt.Errorf("%w: status line", ErrNotSSDP)
		}
		n, err := strconv.Atoi(string(f[1]))
		if err != nil || n < 100 || n > 999 {
			return fmt.Errorf("%w: status %q", ErrNotSSDP, f[1])
		}
		m.Status = n
	default:
		return ErrNotSSDP
	}
	m.Partial = true
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		if len(line) == 0 {
			m.Partial = false
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name, value = bytes.TrimSpace(name), bytes.TrimSpace(value)
		if len(m.Headers) >= MaxHeaders {
			return nil
		}
		m.Headers = append(m.Headers, Header{Name: name, Value: value})
		m.header(name, value)
	}
	return nil
}

func (m *Message) header(name, value []byte) {
	for _, h := range []struct {
		name string
		dst  *[]byte
	}{{"HOST", &m.Host}, {"SERVER", &m.Server}, {"USER-AGENT", &m.UserAgent}, {"USN", &m.USN},
		{"NT", &m.NT}, {"NTS", &m.NTS}, {"ST", &m.ST}, {"LOCATION", &m.Location},
		{"CACHE-CONTROL", &m.CacheControl}, {"MAN", &m.MAN}, {"MX", &m.MX}} {
		if bytes.EqualFold(name, []byte(h.name)) {
			*h.dst = value
			return
		}
	}
	if containsFold(name, "friendly-name") || containsFold(name, "friendlyname") {
		m.FriendlyName = value
	}
}

func containsFold(b []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if bytes.EqualFold(b[i:i+len(sub)], []byte(sub)) {
			return true
		}
	}
	return false
}

func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimSuffix(b, []byte("\r")), nil
	}
	return bytes.TrimSuffix(b[:i], []byte("\r")), b[i+1:]
}

// MaxDescription is the largest description document ParseDescription reads.
const MaxDescription = 1 << 20

// Device is what a UPnP device description (the XML at LOCATION) says
// about the root device.
type Device struct {
	DeviceType       string `json:"device_type,omitempty"`
	FriendlyName     string `json:"friendly_name,omitempty"`
	Manufacturer     string `json:"manufacturer,omitempty"`
	ManufacturerURL  string `json:"manufacturer_url,omitempty"`
	ModelName        string `json:"model_name,omitempty"`
	ModelNumber      string `json:"model_number,omitempty"`
	ModelDescription string `json:"model_description,omitempty"`
	SerialNumber     string `json:"serial_number,omitempty"`
	UDN              string `json:"udn,omitempty"`
	PresentationURL  string `json:"presentation_url,omitempty"`
}

const (
	maxField = 1024
	maxDepth = 64
)

// ParseDescription reads the first <device> of a UPnP description
// document. Fields are capped at 1 KiB each; documents over MaxDescription
// are rejected.
func ParseDescription(b []byte) (Device, error) {
	var d Device
	if len(b) > MaxDescription {
		return d, ErrTooLarge
	}
	fields := map[string]*string{
		"deviceType": &d.DeviceType, "friendlyName": &d.FriendlyName, "manufacturer": &d.Manufacturer,
		"manufacturerURL": &d.ManufacturerURL, "modelName": &d.ModelName, "modelNumber": &d.ModelNumber,
		"modelDescription": &d.ModelDescription, "serialNumber": &d.SerialNumber, "UDN": &d.UDN,
		"presentationURL": &d.PresentationURL,
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	depth, devDepth := 0, -1
	var cur *string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return d, nil
		}
		if err != nil {
			return d, fmt.Errorf("ssdp: description: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxDepth {
				return d, fmt.Errorf("ssdp: description nested deeper than %d", maxDepth)
			}
			cur = nil
			if t.Name.Local == "device" && devDepth < 0 {
				devDepth = depth
			} else if devDepth >= 0 && depth == devDepth+1 {
				if p, ok := fields[t.Name.Local]; ok && *p == "" {
					cur = p
				}
			}
		case xml.EndElement:
			if depth == devDepth {
				return d, nil
			}
			depth--
			cur = nil
		case xml.CharData:
			if cur != nil && len(*cur) < maxField {
				*cur += string(bytes.TrimSpace(t[:min(len(t), maxField-len(*cur))]))
			}
		}
	}
}
