// Package coap decodes CoAP messages (RFC 7252) carried in UDP datagrams:
// type, code (method or response), message ID, token, options (Uri-Host,
// Uri-Port, Uri-Path, Uri-Query, Content-Format, Observe, Block1/2 and the
// others by number) and payload. CoAP over DTLS (port 5684) cannot be read;
// DetectDTLS recognises its record header so the flow is named.
//
// Parse is a pure function over one datagram: bounded (options are at
// most the datagram's own bytes, kept values capped), never panicking.
package coap

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EventType is the "type" of CoAP events.
const EventType = "coap"

// Ports are the IANA ports: 5683 for CoAP, 5684 for CoAP over DTLS.
const (
	Port     = 5683
	PortDTLS = 5684
)

// Errors Parse returns, wrapped with where it stopped.
var (
	ErrShort   = errors.New("coap: message too short")
	ErrVersion = errors.New("coap: version is not 1")
	ErrToken   = errors.New("coap: reserved token length")
	ErrOption  = errors.New("coap: malformed option")
	ErrPayload = errors.New("coap: payload marker without payload")
)

// Limits on what one Event keeps.
const (
	MaxPayload = 64 << 10 // payload bytes kept for the leak scanner
	maxValue   = 1 << 10  // bytes of one option value shown
	maxOptions = 64       // options kept
)

// Option is one option as it appeared (repeatable options appear once per
// value).
type Option struct {
	Number uint16 `json:"number"`
	Name   string `json:"name"`
	// Value is the presentation: text for string options, a decimal for
	// uint options, hex for opaque ones.
	Value string `json:"value,omitempty"`
}

// Event is one CoAP message.
type Event struct {
	Frame uint64    `json:"-"`
	Time  time.Time `json:"-"`
	// Type is "CON", "NON", "ACK" or "RST".
	Type string `json:"type"`
	// Code is "c.dd"; Method is set for requests (GET, POST, PUT, DELETE,
	// FETCH, PATCH, iPATCH), Status for responses ("2.05 Content").
	Code      string `json:"code"`
	Method    string `json:"method,omitempty"`
	Status    string `json:"status,omitempty"`
	MessageID uint16 `json:"message_id"`
	Token     string `json:"token,omitempty"` // hex
	// Host and Port are Uri-Host and Uri-Port; Path joins the Uri-Path
	// segments with "/" (leading "/"), Query the Uri-Query ones with "&".
	Host  string `json:"host,omitempty"`
	Port  uint32 `json:"port,omitempty"`
	Path  string `json:"path,omitempty"`
	Query string `json:"query,omitempty"`
	// ProxyURI is the Proxy-Uri option.
	ProxyURI      string   `json:"proxy_uri,omitempty"`
	ContentFormat string   `json:"content_format,omitempty"`
	Observe       *uint32  `json:"observe,omitempty"`
	Options       []Option `json:"options,omitempty"`
	// PayloadSize is the payload length; Payload holds at most MaxPayload
	// bytes of it and is not written to JSON.
	PayloadSize int    `json:"payload_size,omitempty"`
	Payload     []byte `json:"-"`
	// Error says why decoding stopped early (the fields before it are set).
	Error string `json:"error,omitempty"`
}

// Detect reports whether b looks like a CoAP message: version 1, a token
// length up to 8, a code of a defined class (0, 2, 4, 5) and options that
// parse. Used with the port as a hint: CoAP has no magic number.
func Detect(b []byte) bool {
	if len(b) < 4 || b[0]>>6 != 1 || b[0]&0x0f > 8 {
		return false
	}
	switch b[1] >> 5 {
	case 0, 2, 4, 5:
	default:
		return false
	}
	var ev Event
	return Parse(b, &ev) == nil
}

// Parse decodes one datagram into ev (reset first). On malformed input it
// returns an error and leaves in ev what was decoded before it.
func Parse(b []byte, ev *Event) error {
	*ev = Event{Frame: ev.Frame, Time: ev.Time}
	if len(b) < 4 {
		return fail(ev, ErrShort)
	}
	if b[0]>>6 != 1 {
		return fail(ev, ErrVersion)
	}
	ev.Type = [4]string{"CON", "NON", "ACK", "RST"}[b[0]>>4&3]
	tkl := int(b[0] & 0x0f)
	class, detail := b[1]>>5, b[1]&0x1f
	ev.Code = fmt.Sprintf("%d.%02d", class, detail)
	if class == 0 {
		ev.Method = methodName(detail)
	} else {
		ev.Status = ev.Code + " " + statusName(b[1])
		ev.Status = strings.TrimSpace(ev.Status)
	}
	ev.MessageID = binary.BigEndian.Uint16(b[2:])
	if tkl > 8 {
		return fail(ev, ErrToken)
	}
	b = b[4:]
	if len(b) < tkl {
		return fail(ev, ErrShort)
	}
	if tkl > 0 {
		ev.Token = hex.EncodeToString(b[:tkl])
	}
	b = b[tkl:]
	var num uint32
	var path, query []string
	for len(b) > 0 {
		if b[0] == 0xff {
			b = b[1:]
			if len(b) == 0 {
				return fail(ev, ErrPayload)
			}
			ev.PayloadSize = len(b)
			ev.Payload = append([]byte(nil), b[:min(len(b), MaxPayload)]...)
			break
		}
		delta, length := uint32(b[0]>>4), int(b[0]&0x0f)
		b = b[1:]
		var ok bool
		if delta, b, ok = extend(delta, b); !ok {
			return fail(ev, ErrOption)
		}
		var l uint32
		if l, b, ok = extend(uint32(length), b); !ok || int(l) > len(b) {
			return fail(ev, ErrOption)
		}
		num += delta
		if num > 0xffff {
			return fail(ev, ErrOption)
		}
		val := b[:l]
		b = b[l:]
		o := Option{Number: uint16(num), Name: optionName(uint16(num))}
		switch optionFormat(uint16(num)) {
		case 's':
			o.Value = text(val)
		case 'u':
			o.Value = strconv.FormatUint(uint64(uintValue(val)), 10)
			if num == 23 || num == 27 {
				// Block: NUM/M/size (RFC 7959 section 2.2).
				v := uintValue(val)
				o.Value = fmt.Sprintf("%d/%d/%d", v>>4, v>>3&1, 16<<(v&7))
			}
		default:
			o.Value = hex.EncodeToString(val[:min(len(val), maxValue)])
		}
		switch num {
		case 3:
			ev.Host = o.Value
		case 7:
			ev.Port = uintValue(val)
		case 11:
			path = append(path, o.Value)
		case 15:
			query = append(query, o.Value)
		case 35:
			ev.ProxyURI = o.Value
		case 12:
			ev.ContentFormat = formatName(uintValue(val))
		case 6:
			v := uintValue(val)
			ev.Observe = &v
		}
		if len(ev.Options) < maxOptions {
			ev.Options = append(ev.Options, o)
		}
	}
	if len(path) > 0 {
		ev.Path = "/" + strings.Join(path, "/")
	}
	ev.Query = strings.Join(query, "&")
	return nil
}

func fail(ev *Event, err error) error {
	ev.Error = err.Error()
	return err
}

// extend reads the extended delta or length of an option nibble.
func extend(v uint32, b []byte) (uint32, []byte, bool) {
	switch v {
	case 13:
		if len(b) < 1 {
			return 0, b, false
		}
		return uint32(b[0]) + 13, b[1:], true
	case 14:
		if len(b) < 2 {
			return 0, b, false
		}
		return uint32(binary.BigEndian.Uint16(b)) + 269, b[2:], true
	case 15:
		return 0, b, false
	}
	return v, b, true
}

func uintValue(b []byte) uint32 {
	var v uint32
	for _, c := range b[:min(len(b), 4)] {
		v = v<<8 | uint32(c)
	}
	return v
}

// text returns a string option for display: valid UTF-8 as is (capped),
// anything else in hex.
func text(b []byte) string {
	b = b[:min(len(b), maxValue)]
	if !utf8.Valid(b) {
		return hex.EncodeToString(b)
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '.'
		}
		return r
	}, string(b))
}

// methodName names request code 0.dd (RFC 7252, 8132).
func methodName(d byte) string {
	switch d {
	case 0:
		return ""
	case 1:
		return "GET"
	case 2:
		return "POST"
	case 3:
		return "PUT"
	case 4:
		return "DELETE"
	case 5:
		return "FETCH"
	case 6:
		return "PATCH"
	case 7:
		return "iPATCH"
	}
	return "0." + strconv.Itoa(int(d))
}

// statusName names response codes (RFC 7252 section 12.1.2, 7959, 8132).
func statusName(code byte) string {
	switch int(code>>5)<<8 | int(code&0x1f) {
	case 2<<8 | 1:
		return "Created"
	case 2<<8 | 2:
		return "Deleted"
	case 2<<8 | 3:
		return "Valid"
	case 2<<8 | 4:
		return "Changed"
	case 2<<8 | 5:
		return "Content"
	case 2<<8 | 31:
		return "Continue"
	case 4<<8 | 0:
		return "Bad Request"
	case 4<<8 | 1:
		return "Unauthorized"
	case 4<<8 | 2:
		return "Bad Option"
	case 4<<8 | 3:
		return "Forbidden"
	case 4<<8 | 4:
		return "Not Found"
	case 4<<8 | 5:
		return "Method Not Allowed"
	case 4<<8 | 6:
		return "Not Acceptable"
	case 4<<8 | 8:
		return "Request Entity Incomplete"
	case 4<<8 | 9:
		return "Conflict"
	case 4<<8 | 12:
		return "Precondition Failed"
	case 4<<8 | 13:
		return "Request Entity Too Large"
	case 4<<8 | 15:
		return "Unsupported Content-Format"
	case 4<<8 | 22:
		return "Unprocessable Entity"
	case 4<<8 | 29:
		return "Too Many Requests"
	case 5<<8 | 0:
		return "Internal Server Error"
	case 5<<8 | 1:
		return "Not Implemented"
	case 5<<8 | 2:
		return "Bad Gateway"
	case 5<<8 | 3:
		return "Service Unavailable"
	case 5<<8 | 4:
		return "Gateway Timeout"
	case 5<<8 | 5:
		return "Proxying Not Supported"
	}
	return ""
}

// optionName names option numbers (IANA CoAP Option Numbers registry).
func optionName(n uint16) string {
	switch n {
	case 1:
		return "If-Match"
	case 3:
		return "Uri-Host"
	case 4:
		return "ETag"
	case 5:
		return "If-None-Match"
	case 6:
		return "Observe"
	case 7:
		return "Uri-Port"
	case 8:
		return "Location-Path"
	case 9:
		return "OSCORE"
	case 11:
		return "Uri-Path"
	case 12:
		return "Content-Format"
	case 14:
		return "Max-Age"
	case 15:
		return "Uri-Query"
	case 17:
		return "Accept"
	case 20:
		return "Location-Query"
	case 23:
		return "Block2"
	case 27:
		return "Block1"
	case 28:
		return "Size2"
	case 35:
		return "Proxy-Uri"
	case 39:
		return "Proxy-Scheme"
	case 60:
		return "Size1"
	case 252:
		return "Echo"
	case 258:
		return "No-Response"
	case 292:
		return "Request-Tag"
	}
	return "Option" + strconv.Itoa(int(n))
}

// optionFormat is 's' (string), 'u' (uint) or 'o' (opaque, also empty).
func optionFormat(n uint16) byte {
	switch n {
	case 3, 8, 11, 15, 20, 35, 39:
		return 's'
	case 6, 7, 12, 14, 17, 23, 27, 28, 60, 258:
		return 'u'
	}
	return 'o'
}

// formatName names Content-Format values (IANA CoAP Content-Formats).
func formatName(v uint32) string {
	switch v {
	case 0:
		return "text/plain;charset=utf-8"
	case 16:
		return "application/cose;cose-type=\"cose-encrypt0\""
	case 40:
		return "application/link-format"
	case 41:
		return "application/xml"
	case 42:
		return "application/octet-stream"
	case 47:
		return "application/exi"
	case 50:
		return "application/json"
	case 51:
		return "application/json-patch+json"
	case 60:
		return "application/cbor"
	case 110:
		return "application/senml+json"
	case 112:
		return "application/senml+cbor"
	case 11542:
		return "application/vnd.oma.lwm2m+tlv"
	case 11543:
		return "application/vnd.oma.lwm2m+json"
	}
	return strconv.FormatUint(uint64(v), 10)
}

// Field is one decoded value for the leak scanner.
type Field struct {
	Location    string
	Data        []byte
	ContentType string
}

// ScanFields calls yield with the values the leak scanner reads: the
// Uri-Path, the Uri-Query, the Proxy-Uri and the payload, as "coap.path",
// "coap.query", "coap.proxy_uri" and "coap.payload".
func (e *Event) ScanFields(yield func(Field)) {
	if e.Path != "" {
		yield(Field{Location: "coap.path", Data: []byte(e.Path)})
	}
	if e.Query != "" {
		yield(Field{Location: "coap.query", Data: []byte(e.Query)})
	}
	if e.ProxyURI != "" {
		yield(Field{Location: "coap.proxy_uri", Data: []byte(e.ProxyURI)})
	}
	if len(e.Payload) > 0 {
		yield(Field{Location: "coap.payload", Data: e.Payload, ContentType: e.ContentFormat})
	}
}

// DetectDTLS reports whether b begins with a DTLS record header (RFC 6347):
// a content type 20 to 25, record version DTLS 1.0 (0xfeff) or 1.2
// (0xfefd), and a length that fits in b. version is "DTLS1.0" or
// "DTLS1.2" (the record version: DTLS 1.3 handshakes begin with 1.2
// records; its later unified headers have no fixed bytes and are not
// recognised).
func DetectDTLS(b []byte) (version string, ok bool) {
	if len(b) < 13 || b[0] < 20 || b[0] > 25 || b[1] != 0xfe {
		return "", false
	}
	if n := int(binary.BigEndian.Uint16(b[11:13])); 13+n > len(b) {
		return "", false
	}
	switch b[2] {
	case 0xff:
		return "DTLS1.0", true
	case 0xfd:
		return "DTLS1.2", true
	}
	return "", false
}
