// Package ssh recognises SSH connections by their identification string
// (RFC 4253 section 4.2: "SSH-protoversion-softwareversion"). What follows
// is key exchange and then ciphertext: nothing is decoded or leak-scanned.
package ssh

import (
	"bytes"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Spec describes SSH to the engine: either side's first bytes begin with
// "SSH-". Its decoder reads nothing; the flow's channel is "SSH".
func Spec() proto.Spec {
	return proto.Spec{
		Name: "ssh", Channel: "SSH",
		Detect: func(in proto.DetectInput) proto.Verdict {
			if Detect(in.Up) || Detect(in.Down) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(proto.Sink) proto.Decoder { return decoder{} },
	}
}

// Detect reports whether b begins with an SSH identification string.
func Detect(b []byte) bool { return bytes.HasPrefix(b, []byte("SSH-")) }

type decoder struct{}

func (decoder) Data(proto.Dir, []byte, proto.Meta) {}
func (decoder) Gap(proto.Dir, int, proto.Meta)     {}
func (decoder) End(proto.Meta)                     {}
