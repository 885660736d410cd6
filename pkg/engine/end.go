package engine

import (
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
)

// End finishes a flow: its decoders, its name and channel, its flow
// record, and its share of the device inventory.
func (w *worker) End(f *flow.Flow) {
	s, ok := f.User.(*session)
	if !ok {
		// A flow without payload had no session: use the worker's
		// scratch one rather than allocating (half-open floods).
		s = &w.idle
		*s = session{w: w, f: f}
	}
	m := proto.Meta{Frame: f.LastFrame, Time: f.Last}
	s.endDecoders(m)
	w.countDecryption(s)
	w.endUnknown(s)
	name, nameSrc := w.bestName(s)
	protocol, channel := s.startTLS(s.proto, w.encryptedDNS(s, name, w.channel(s)))
	if s.names.device != "" {
		w.inv.protocolName(f.Client.Addr(), s.names.device)
	}
	d, deviceIsClient, pp := w.inv.deviceOf(f)
	switch {
	case !w.cfg.KeepFlows:
	case w.spools != nil && w.spools.flows != nil:
		rec := audit.Flow{
			ID:          f.ID,
			Transport:   f.Transport(),
			Client:      f.Client.String(),
			Server:      f.Server.String(),
			Device:      flowDevice(d, pp),
			PacketsUp:   f.Packets[proto.ToServer],
			PacketsDown: f.Packets[proto.ToClient],
			BytesUp:     f.Bytes[proto.ToServer],
			BytesDown:   f.Bytes[proto.ToClient],
			PayloadUp:   f.Payload[proto.ToServer],
			PayloadDown: f.Payload[proto.ToClient],
			FirstFrame:  f.FirstFrame,
			First:       f.First.UTC(),
			Last:        f.Last.UTC(),
			Protocol:    protocol,
			Name:        name,
			NameSource:  nameSrc,
			Channel:     channel,
			State:       f.State.String(),
			GapBytes:    f.GapBytes,
		}
		rec.Input, rec.FirstFrame = w.frames.locate(rec.FirstFrame)
		if err := w.spools.spoolFlow(s, rec); err != nil {
			w.counter["flow_records_unencodable"]++
		}
	default:
		rec := newKeptFlow(w.shard, f, flowDevice(d, pp), protocol, name, nameSrc, channel)
		w.kept.add(&rec)
	}
	w.inv.addFlow(d, deviceIsClient, pp, f, s, name, nameSrc, channel, protocol)
	f.User = nil
	w.release(s)
}

// flowDevice is the device id of a flow record: a pending pair's
// provisional id until the end chooses its side (inventory.resolve).
func flowDevice(d *devAgg, pp *pendingPair) string {
	if pp != nil {
		return pp.key.id()
	}
	return d.d.ID
}

// bestName picks the server's name: SNI > HTTP Host > QUIC SNI > a
// server name the client sent in another protocol > DNS answer seen
// earlier by the same client > PTR > the server's greeting banner.
func (w *worker) bestName(s *session) (string, string) {
	switch {
	case s.names.sni != "":
		return s.names.sni, "sni"
	case s.names.host != "":
		return s.names.host, "http-host"
	case s.names.quicSNI != "":
		return s.names.quicSNI, "quic-sni"
	case s.names.protocol != "":
		return s.names.protocol, "protocol"
	case s.names.dns != "":
		return s.names.dns, "dns"
	case s.names.ptr != "":
		return s.names.ptr, "ptr"
	case s.names.banner != "":
		return s.names.banner, "banner"
	}
	return "", ""
}

// channel says how the flow's content travelled: as its decoder says,
// else as its Spec says, else from the bytes of payload no decoder
// claimed.
func (w *worker) channel(s *session) string {
	switch {
	case s.stream != nil:
		return specChannel(s.spec, s.stream)
	case s.opaqueRest || s.redetect:
		return s.prevChannel()
	case s.last != nil:
		for _, d := range s.dgrams {
			if d.spec == s.last {
				return specChannel(d.spec, d.dec)
			}
		}
		return s.last.Channel
	}
	return w.unknownChannel(s)
}
