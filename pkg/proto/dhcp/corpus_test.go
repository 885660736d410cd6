package dhcp

import (
	"fmt"
	"slices"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
)

type dhcpTruth struct {
	DHCP struct {
		Messages []struct {
			Transport   *string `json:"transport"`
			Frame       int     `json:"frame"`
			MsgType     string  `json:"msg_type"`
			ClientMAC   string  `json:"client_mac"`
			Hostname    *string `json:"hostname"`
			FQDN        *string `json:"fqdn"`
			VendorClass *string `json:"vendor_class_id"`
			RequestedIP *string `json:"requested_ip"`
			YourIP      string  `json:"your_ip"`
			ClientIP    string  `json:"client_ip"`
		} `json:"messages"`
		V6 []struct {
			Frame   int      `json:"frame"`
			Types   []string `json:"msg_types"`
			LLAddrs []string `json:"duid_lladdr"`
		} `json:"dhcpv6_messages"`
	} `json:"dhcp"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestCorpusDHCP compares every DHCPv4 message (type, MAC, host name, FQDN,
// vendor class, requested/your/client IP) and DHCPv6 client MAC of the dev
// captures with tshark's.
func TestCorpusDHCP(t *testing.T) {
	var total, same, total6, same6 int
	for _, e := range corpus.Dev(t) {
		var tr dhcpTruth
		corpus.LoadTruth(t, e, &tr)
		if len(tr.DHCP.Messages)+len(tr.DHCP.V6) == 0 {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dgrams, frames, ok := readUDP(t, e.Path)
			if !ok {
				t.Skip("capture format not readable by the test extractor")
			}
			if frames != e.Packets || corpus.CustomBlocks(t, e) > 0 {
				t.Skipf("extractor read %d frames, tshark %d: frame numbers cannot be matched", frames, e.Packets)
			}
			v4 := map[int]Event{}
			v6 := map[int]*Message6{}
			for _, d := range dgrams {
				switch {
				case hasPort(d, 67, 68):
					var m Message
					err := Parse(d.Payload, &m)
					if err != nil {
						t.Logf("frame %d: %v", d.Frame, err)
					}
					v4[d.Frame] = NewEvent(&m, err)
				case hasPort(d, 546, 547):
					m := new(Message6)
					if err := Parse6(d.Payload, m); err != nil {
						t.Logf("frame %d: %v", d.Frame, err)
					}
					v6[d.Frame] = m
				}
			}
			for _, tm := range tr.DHCP.Messages {
				if tm.Transport == nil {
					// tshark also dissects the DHCP packet quoted inside an
					// ICMP error; that is not a message the device sent.
					t.Logf("frame %d: DHCP quoted in ICMP, not counted", tm.Frame)
					continue
				}
				total++
				ev, ok := v4[tm.Frame]
				if !ok {
					t.Errorf("frame %d: not decoded", tm.Frame)
					continue
				}
				want := Event{MsgType: tm.MsgType, ClientMAC: tm.ClientMAC, Hostname: str(tm.Hostname),
					FQDN: str(tm.FQDN), VendorClass: str(tm.VendorClass), RequestedIP: str(tm.RequestedIP),
					YourIP: tm.YourIP, ClientIP: tm.ClientIP}
				if want.YourIP == "0.0.0.0" {
					want.YourIP = ""
				}
				if want.ClientIP == "0.0.0.0" {
					want.ClientIP = ""
				}
				got := Event{MsgType: ev.MsgType, ClientMAC: ev.ClientMAC, Hostname: ev.Hostname, FQDN: ev.FQDN,
					VendorClass: ev.VendorClass, RequestedIP: ev.RequestedIP, YourIP: ev.YourIP, ClientIP: ev.ClientIP}
				if got.MsgType == "BOOTP" && want.MsgType == "" {
					want.MsgType = "BOOTP"
				}
				if want.ClientMAC == "" && len(got.ClientMAC) > 12 {
					// tshark shows no address when hlen is not 6; phonehome
					// reports the hardware address bytes in hex.
					want.ClientMAC = got.ClientMAC
				}
				if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
					t.Errorf("frame %d:\n got %+v\nwant %+v", tm.Frame, got, want)
					continue
				}
				same++
			}
			for _, tm := range tr.DHCP.V6 {
				total6++
				m, ok := v6[tm.Frame]
				if !ok {
					t.Errorf("v6 frame %d: not decoded", tm.Frame)
					continue
				}
				mac := DUIDLinkLayer(m.ClientDUID)
				// tshark lists the link-layer addresses of every DUID (client
				// and server) in option order.
				if len(tm.LLAddrs) > 0 && !slices.Contains(tm.LLAddrs, mac) {
					t.Errorf("v6 frame %d: client MAC %q, tshark DUID addresses %q", tm.Frame, mac, tm.LLAddrs)
					continue
				}
				same6++
			}
		})
	}
	t.Logf("DHCPv4 messages identical to tshark: %d/%d; DHCPv6 client MACs: %d/%d", same, total, same6, total6)
}
