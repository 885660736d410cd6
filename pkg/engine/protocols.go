package engine

import (
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/coap"
	"github.com/phonehome/phonehome/pkg/proto/dhcp"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	"github.com/phonehome/phonehome/pkg/proto/ftp"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"github.com/phonehome/phonehome/pkg/proto/http2"
	"github.com/phonehome/phonehome/pkg/proto/mail"
	"github.com/phonehome/phonehome/pkg/proto/mqtt"
	"github.com/phonehome/phonehome/pkg/proto/netbios"
	"github.com/phonehome/phonehome/pkg/proto/ntp"
	"github.com/phonehome/phonehome/pkg/proto/quic"
	"github.com/phonehome/phonehome/pkg/proto/ssdp"
	"github.com/phonehome/phonehome/pkg/proto/ssh"
	"github.com/phonehome/phonehome/pkg/proto/stun"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
	"github.com/phonehome/phonehome/pkg/proto/xmpp"
)

// protocols is every decoder the engine runs, in the order their Specs are
// asked (first Yes wins). A new protocol is one package exporting a Spec
// and one line here. The list is built once per worker, so a Spec may
// share scratch state among the decoders it makes.
//
// Stream Specs are asked about a TCP connection's first bytes (content
// first, ports last); datagram Specs about every UDP datagram (ports and
// content), except WholeFlow ones, which own a flow once they claim it.
// A flow no Spec claims goes to the engine's unknown-payload profile
// (unknown.go).
func protocols(httpLimits phttp.Limits) []proto.Spec {
	return []proto.Spec{
		// TCP
		ptls.Spec(),
		phttp.Spec(httpLimits),
		stun.StreamSpec(),          // by the magic cookie: TURN over TCP (RFC 6062), STUN over TCP
		http2.Spec(http2.Limits{}), // after http (which refuses the preface); also the Switch target of Upgrade: h2c
		mqtt.Spec(),
		ssh.Spec(),
		mail.Spec(mail.SMTP, mail.Limits{}), // the server speaks first; before FTP (both greet with 220)
		mail.Spec(mail.POP3, mail.Limits{}),
		mail.Spec(mail.IMAP, mail.Limits{}),
		ftp.Spec(ftp.Limits{}),
		xmpp.Spec(xmpp.Limits{}),
		dns.StreamSpec(), // port 53, after every content check
		// UDP
		dns.DatagramSpec(), // 53, 5353 (mDNS), 5355 (LLMNR)
		dhcp.Spec(),
		dhcp.Spec6(),
		quic.Spec(), // WholeFlow
		ssdp.Spec(),
		stun.Spec(),
		netbios.NameSpec(),
		netbios.DatagramSpec(),
		ntp.Spec(),
		coap.Spec(),     // port 5683 only: CoAP has no magic number
		coap.DTLSSpec(), // port 5684: recognised, not decoded
	}
}

// specList is the protocols of one worker split by transport.
type specList struct {
	streams, datagrams []proto.Spec
}

func newSpecList(all []proto.Spec) specList {
	var l specList
	for _, sp := range all {
		if sp.Datagram {
			l.datagrams = append(l.datagrams, sp)
		} else {
			l.streams = append(l.streams, sp)
		}
	}
	return l
}

// stream returns the stream Spec named name (the target of a Switch), or
// nil.
func (l *specList) stream(name string) *proto.Spec {
	for i := range l.streams {
		if l.streams[i].Name == name {
			return &l.streams[i]
		}
	}
	return nil
}
