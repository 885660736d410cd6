package engine

import (
	"slices"

	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dhcp"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"github.com/phonehome/phonehome/pkg/proto/netbios"
)

// observe reads the events decoders emit for what the engine itself keeps
// beyond the event: DNS answers for the name cache, and for the device
// inventory mDNS and NetBIOS host names, DHCP client records and HTTP user
// agents. Decoders know nothing of these uses; a new protocol needs a case
// here only when the inventory learns something from it.
func (w *worker) observe(s *session, m proto.Meta, fields any) {
	switch v := fields.(type) {
	case *dns.Record:
		// Answers over TCP reach the name cache through the reader
		// (pool.tcpDNS), the same for every worker; not from here.
		if !v.Msg.Response || s.f.Key.Proto != flow.ProtoUDP {
			return
		}
		w.dnsCache.Add(s.f.Client.Addr(), v.Msg, m)
		if v.Variant == "mdns" {
			w.inv.mdnsNames(s.f, v.Msg)
		}
	case dhcp.Event:
		if v.Version == 4 && v.Error == "" {
			w.inv.dhcp(v, m.Frame)
		}
	case netbios.Event:
		if v.Service == "ns" && v.Error == "" {
			src := s.f.Client.Addr()
			if s.dir == proto.ToClient {
				src = s.f.Server.Addr()
			}
			w.inv.netbiosNames(src, v)
		}
	case dns.DoHEvent:
		w.noteDoH(s, m, v) // names rows at the end (dohnames.go)
	case *phttp.Event:
		if rq := v.Request; rq != nil && rq.UserAgent != "" && len(s.uas) < 8 && !slices.Contains(s.uas, rq.UserAgent) {
			s.uas = append(s.uas, rq.UserAgent)
		}
	}
}
