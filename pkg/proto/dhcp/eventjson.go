package dhcp

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestEventAppendersMatchEncodingJSON).
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	o := jsonw.Open(b)
	o.Int("version", int64(e.Version))
	o.OptString("op", e.Op)
	o.String("msg_type", e.MsgType)
	o.String("xid", e.XID)
	o.OptString("client_mac", e.ClientMAC)
	o.OptString("client_ip", e.ClientIP)
	o.OptString("your_ip", e.YourIP)
	o.OptString("server_ip", e.ServerIP)
	o.OptString("relay_ip", e.RelayIP)
	o.OptString("hostname", e.Hostname)
	o.OptString("fqdn", e.FQDN)
	o.OptString("vendor_class", e.VendorClass)
	o.OptString("user_class", e.UserClass)
	o.OptString("param_list", e.ParamList)
	o.OptString("requested_ip", e.RequestedIP)
	o.OptString("server_id", e.ServerID)
	o.OptString("client_id", e.ClientID)
	o.OptString("server_duid", e.ServerDUID)
	o.OptUint("lease_time", uint64(e.LeaseTime))
	o.OptString("subnet_mask", e.SubnetMask)
	o.OptStrings("routers", e.Routers)
	o.OptStrings("dns_servers", e.DNSServers)
	o.OptString("domain_name", e.DomainName)
	o.OptStrings("addresses", e.Addresses)
	o.OptInt("relays", int64(e.Relays))
	o.OptString("peer_ip", e.PeerIP)
	o.String("options", e.Options)
	o.OptString("error", e.Error)
	return o.Close()
}
