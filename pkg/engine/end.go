package engine

import (
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto"
)

// End finishes a flow: its parser, its name and channel, its flow record,
// and its share of the device inventory.
func (e *engine) End(f *flow.Flow) {
	s := e.sess(f)
	m := proto.Meta{Frame: f.LastFrame, Time: f.Last}
	if s.parser != nil {
		s.parser.End(m)
	}
	e.endExtra(s, m)
	name, nameSrc := e.bestName(s)
	protocol := s.protocol()
	channel := e.channel(s)
	d, deviceIsClient, pp := e.inv.deviceOf(f)
	devID := ""
	if pp != nil {
		devID = pp.id // the side is chosen at the end (inventory.resolve)
	} else {
		devID = d.d.ID
	}
	switch {
	case !e.cfg.KeepFlows:
	case e.spools == nil && len(e.flows) >= e.maxRecords:
		e.counter["flow_records_dropped"]++
	default:
		rec := audit.Flow{
			ID:          f.ID,
			Transport:   f.Transport(),
			Client:      f.Client.String(),
			Server:      f.Server.String(),
			Device:      devID,
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
		if e.spools != nil && e.spools.flows != nil {
			rec.Input, rec.FirstFrame = e.frames.locate(rec.FirstFrame)
			if err := e.spools.spoolFlow(s, rec); err != nil {
				e.counter["flow_records_unencodable"]++
			}
		} else {
			e.flows = append(e.flows, rec)
		}
	}
	if pp != nil {
		e.inv.addFlow(pp.asClient, true, f, s, name, nameSrc, channel, protocol)
		e.inv.addFlow(pp.asServer, false, f, s, name, nameSrc, channel, protocol)
	} else {
		e.inv.addFlow(d, deviceIsClient, f, s, name, nameSrc, channel, protocol)
	}
	f.User = nil
}

// bestName picks the server's name: SNI > HTTP Host > QUIC SNI > MQTT
// broker > DNS answer seen earlier by the same client > PTR.
func (e *engine) bestName(s *session) (string, string) {
	switch {
	case s.names.sni != "":
		return s.names.sni, "sni"
	case s.names.host != "" && !ipLiteral(stripPort(s.names.host)):
		return stripPort(s.names.host), "http-host"
	case s.names.quicSNI != "":
		return s.names.quicSNI, "quic-sni"
	case s.names.dns != "":
		return s.names.dns, "dns"
	case s.names.ptr != "":
		return s.names.ptr, "ptr"
	}
	return "", ""
}

// ipLiteral reports whether an HTTP Host is an address, not a name (HTTPDNS
// clients and many IoT devices send "Host: 203.0.113.7"): it names no server.
func ipLiteral(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

// stripPort removes a port from an HTTP Host value ("h:8080", "[::1]:80").
func stripPort(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.Trim(h, "[]")
}

func (s *session) protocol() string {
	if s.proto != "" {
		return s.proto
	}
	return s.udpProto
}

// channel says how the flow's content travelled.
func (e *engine) channel(s *session) string {
	if s.channel != "" {
		return s.channel
	}
	switch s.protocol() {
	case "tls":
		if s.tls != nil {
			ss := s.tls.Session()
			for _, fi := range ss.Findings {
				s.addFinding(e, audit.Finding{Severity: fi.Severity, Kind: fi.Kind, Message: fi.Message, Frame: fi.Frame, Time: s.f.First.UTC()})
			}
			if ss.Version != "" {
				return ss.Version
			}
		}
		return "TLS"
	case "http":
		return "HTTP"
	case "dns":
		return "DNS"
	case "dhcp", "dhcpv6":
		return "DHCP"
	}
	if p := s.protocol(); p != "" {
		if c := e.extraChannel(s); c != "" {
			return c
		}
	}
	if len(s.sample) == 0 && len(s.down) == 0 {
		return ""
	}
	v := leak.ClassifyPayload(slices.Concat(s.sample, s.down))
	if e.scanner != nil && len(s.sample) >= 8 && !s.opaque && leak.ClassifyPayload(s.sample).Class != leak.Encrypted {
		if key, hit, ok := e.scanner.DetectXOR(s.sample); ok {
			s.addFinding(e, audit.Finding{Severity: audit.High, Kind: "custom-encryption-xor",
				Message: "payload is XOR-\"encrypted\" with a short fixed key (0x" + hex.EncodeToString(key) + "); it hides " + hit.Identifier,
				Frame:   s.f.FirstFrame, Time: s.f.First.UTC()})
			hit.Encoding = append([]string{"xor"}, hit.Encoding...)
			s.leaks = append(s.leaks, audit.Leak{Identifier: hit.Identifier, Known: hit.Known, Value: hit.Value,
				Encoding: strings.Join(hit.Encoding, " > "), Location: s.f.Transport() + ".payload", Frame: s.f.FirstFrame, Time: s.f.First.UTC(), Count: 1})
			return "custom-xor"
		}
	}
	return classChannel(v.Class)
}

// classChannel names the channel of a flow no decoder recognised, from the
// byte statistics of its payload.
func classChannel(c leak.Class) string {
	switch c {
	case leak.Plaintext:
		return string(audit.ChannelPlaintext)
	case leak.Encoded:
		return string(audit.ChannelEncoded)
	case leak.Compressed:
		return string(audit.ChannelCompressed)
	case leak.Encrypted:
		return string(audit.ChannelEncryptedUnknown)
	case leak.Binary:
		return string(audit.ChannelBinaryUnknown)
	}
	return string(audit.ChannelUnknown)
}
