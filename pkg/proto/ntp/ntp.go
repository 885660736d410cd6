// Package ntp decodes NTP (RFC 5905) packets: version, mode, stratum,
// reference id and timestamps, plus the header of mode 6 control and mode 7
// private messages. A device's NTP traffic shows which time servers it
// trusts (often a vendor's) and its clock.
package ntp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Errors returned (wrapped) by Parse.
var (
	ErrShort   = errors.New("ntp: packet truncated")
	ErrVersion = errors.New("ntp: unsupported version")
)

// HeaderLen is the size of an NTP time packet without extensions.
const HeaderLen = 48

// Mode is the association mode.
type Mode uint8

// Modes.
const (
	ModeSymmetricActive  Mode = 1
	ModeSymmetricPassive Mode = 2
	ModeClient           Mode = 3
	ModeServer           Mode = 4
	ModeBroadcast        Mode = 5
	ModeControl          Mode = 6
	ModePrivate          Mode = 7
)

var modeNames = [...]string{"reserved", "symmetric-active", "symmetric-passive", "client", "server",
	"broadcast", "control", "private"}

// String returns "client", "server"...
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("%d", uint8(m))
}

// Timestamp is a 64-bit NTP timestamp: seconds since 1900 and a fraction.
type Timestamp uint64

// Time converts t, assuming era 0 when the top bit of the seconds is set
// and era 1 (after February 2036) otherwise (RFC 4330 §3). Zero stays the
// zero time.
func (t Timestamp) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	sec := int64(t >> 32)
	if sec&0x80000000 == 0 {
		sec += 1 << 32
	}
	frac := int64((uint64(t&0xFFFFFFFF) * 1e9) >> 32)
	return time.Unix(sec-2208988800, frac).UTC()
}

// Message is a decoded NTP packet. For modes 6 and 7 only Leap, Version
// and Mode and the Control fields are set.
type Message struct {
	Leap    uint8
	Version uint8
	Mode    Mode
	Stratum uint8
	Poll    int8 // log2 seconds
	// Precision is log2 seconds of the clock precision.
	Precision      int8
	RootDelay      time.Duration
	RootDispersion time.Duration
	RefID          [4]byte
	Reference      Timestamp
	Origin         Timestamp
	Receive        Timestamp
	Transmit       Timestamp
	// Extra holds extension fields and/or the MAC after the header.
	Extra []byte

	// Mode 6 control message header.
	Response bool
	Opcode   uint8
	Sequence uint16
	Status   uint16
	AssocID  uint16
	Data     []byte // mode 6 payload
}

// short16 converts an NTP short format (16.16 seconds) to a Duration.
func short16(v uint32) time.Duration {
	return time.Duration((uint64(v) * uint64(time.Second)) >> 16)
}

// Parse decodes b into m.
func Parse(b []byte, m *Message) error {
	*m = Message{}
	if len(b) < 1 {
		return fmt.Errorf("ntp: %w", ErrShort)
	}
	m.Leap, m.Version, m.Mode = b[0]>>6, (b[0]>>3)&7, Mode(b[0]&7)
	if m.Version < 1 || m.Version > 4 {
		return fmt.Errorf("%w %d", ErrVersion, m.Version)
	}
	switch m.Mode {
	case ModeControl:
		if len(b) < 12 {
			return fmt.Errorf("ntp: control header: %w", ErrShort)
		}
		m.Response = b[1]&0x80 != 0
		m.Opcode = b[1] & 0x1F
		m.Sequence = binary.BigEndian.Uint16(b[2:])
		m.Status = binary.BigEndian.Uint16(b[4:])
		m.AssocID = binary.BigEndian.Uint16(b[6:])
		n := int(binary.BigEndian.Uint16(b[10:]))
		if off := int(binary.BigEndian.Uint16(b[8:])); off != 0 || 12+n > len(b) {
			m.Data = b[12:]
			return fmt.Errorf("ntp: control data: %w", ErrShort)
		}
		m.Data = b[12 : 12+n]
		return nil
	case ModePrivate:
		if len(b) < 4 {
			return fmt.Errorf("ntp: private header: %w", ErrShort)
		}
		m.Response = b[0]&0x80 != 0
		m.Opcode = b[3]
		m.Data = b[4:]
		// The leap bits are R and M flags in mode 7.
		m.Leap = 0
		return nil
	}
	if len(b) < HeaderLen {
		return fmt.Errorf("ntp: header: %w", ErrShort)
	}
	m.Stratum = b[1]
	m.Poll = int8(b[2])
	m.Precision = int8(b[3])
	m.RootDelay = short16(binary.BigEndian.Uint32(b[4:]))
	m.RootDispersion = short16(binary.BigEndian.Uint32(b[8:]))
	m.RefID = [4]byte(b[12:16])
	m.Reference = Timestamp(binary.BigEndian.Uint64(b[16:]))
	m.Origin = Timestamp(binary.BigEndian.Uint64(b[24:]))
	m.Receive = Timestamp(binary.BigEndian.Uint64(b[32:]))
	m.Transmit = Timestamp(binary.BigEndian.Uint64(b[40:]))
	if len(b) > HeaderLen {
		m.Extra = b[HeaderLen:]
	}
	return nil
}

// Detect reports whether b looks like NTP: version 1 to 4, and for time
// modes (1 to 5) a 48-byte header plus a multiple of 4 bytes of extensions
// and MAC, a stratum of at most 16 and a poll interval within 2^-6..2^17 s.
// NTP has no magic number, so use it together with the port (123).
func Detect(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	v, mode := (b[0]>>3)&7, b[0]&7
	if v < 1 || v > 4 {
		return false
	}
	switch {
	case mode >= 1 && mode <= 5:
		return len(b) >= HeaderLen && (len(b)-HeaderLen)%4 == 0 && b[1] <= 16 &&
			int8(b[2]) >= -6 && int8(b[2]) <= 17
	case mode == 6:
		return len(b) >= 12 && int(binary.BigEndian.Uint16(b[10:]))+12 <= len(b)
	case mode == 7:
		return len(b) >= 8
	}
	return false
}

// RefIDString renders the reference id: the ASCII kiss code (stratum 0) or
// reference source (stratum 1), else the upstream server's IPv4 address
// (for IPv6 upstreams it is the first 4 bytes of an MD5 hash, shown the
// same way).
func (m *Message) RefIDString() string {
	r := m.RefID
	if m.Stratum <= 1 {
		n := 0
		for n < 4 && r[n] >= 0x20 && r[n] < 0x7f {
			n++
		}
		if n == 4 || (n > 0 && allZero(r[n:])) {
			return string(r[:n])
		}
		if allZero(r[:]) {
			return ""
		}
	}
	return fmt.Sprintf("%d.%d.%d.%d", r[0], r[1], r[2], r[3])
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
