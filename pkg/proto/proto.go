// Package proto holds the small contract shared by the protocol decoders
// (pkg/proto/...) and the engine that feeds them: which direction bytes
// travel, where in the capture they came from, and the interface a stream
// decoder implements. Decoders never see packets; they see ordered bytes
// (TCP) or whole datagrams (UDP) plus this metadata.
package proto

import "time"

// Dir is the direction of data within a flow.
type Dir uint8

const (
	// ToServer is data sent by the flow's client (the side that opened it).
	ToServer Dir = 0
	// ToClient is data sent by the flow's server.
	ToClient Dir = 1
)

// String returns "up" for ToServer and "down" for ToClient.
func (d Dir) String() string {
	if d == ToServer {
		return "up"
	}
	return "down"
}

// Meta locates bytes in the capture: the frame number (1-based, as in
// Wireshark) of the packet that carried the first of them, and its time.
type Meta struct {
	Frame uint64
	Time  time.Time
}

// StreamParser consumes one TCP connection's reassembled bytes. Data is
// called with in-order bytes for one direction at a time; the slice is only
// valid during the call (copy what you keep). Gap reports n bytes that were
// never captured; the stream continues after them. End is called once when
// the connection closes or the capture ends. Implementations must bound
// their own buffering and never panic.
type StreamParser interface {
	Data(dir Dir, data []byte, m Meta)
	Gap(dir Dir, n int, m Meta)
	End(m Meta)
}
