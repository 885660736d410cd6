package engine

import (
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
)

// Start, Datagram, Stream, Gap and End make the engine a flow.Handler.

func (e *engine) Start(f *flow.Flow, p *flow.Packet) {}

func (e *engine) Datagram(f *flow.Flow, dir proto.Dir, p *flow.Packet) {}

func (e *engine) Stream(f *flow.Flow, dir proto.Dir, data []byte, m proto.Meta) {}

func (e *engine) Gap(f *flow.Flow, dir proto.Dir, n int, m proto.Meta) {}

func (e *engine) End(f *flow.Flow) {
	e.flows = append(e.flows, audit.Flow{
		ID:          f.ID,
		Transport:   f.Transport(),
		Client:      f.Client.String(),
		Server:      f.Server.String(),
		PacketsUp:   f.Packets[proto.ToServer],
		PacketsDown: f.Packets[proto.ToClient],
		BytesUp:     f.Bytes[proto.ToServer],
		BytesDown:   f.Bytes[proto.ToClient],
		PayloadUp:   f.Payload[proto.ToServer],
		PayloadDown: f.Payload[proto.ToClient],
		FirstFrame:  f.FirstFrame,
		First:       utc(f.First),
		Last:        utc(f.Last),
		State:       f.State.String(),
		GapBytes:    f.GapBytes,
	})
}
