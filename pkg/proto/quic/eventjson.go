package quic

import (
	"github.com/phonehome/phonehome/internal/jsonw"
	"github.com/phonehome/phonehome/pkg/proto/tls"
)

// AppendJSON appends the connection as encoding/json marshals it, without
// reflection (the Fields of "quic" events: audit.JSONAppender;
// TestEventAppendersMatchEncodingJSON).
func (c *Connection) AppendJSON(b []byte) ([]byte, error) {
	if c == nil {
		return append(b, "null"...), nil
	}
	o := jsonw.Open(b)
	o.String("version", c.Version)
	o.Uint("version_code", uint64(c.VersionCode))
	o.OptString("dcid", c.DCID)
	o.OptString("scid", c.SCID)
	o.OptString("sni", c.SNI)
	o.OptStrings("alpn", c.ALPN)
	if c.ClientHello != nil {
		o.Raw("client_hello", c.ClientHello.AppendJSON)
	}
	if c.ServerHello != nil {
		o.Raw("server_hello", c.ServerHello.AppendJSON)
	}
	o.OptBool("retry", c.Retry)
	o.OptString("retry_scid", c.RetrySCID)
	o.OptStrings("server_versions", c.ServerVersions)
	o.OptString("gquic_user_agent", c.GQUICUserAgent)
	if cl := c.Close; cl != nil {
		o.Key("close")
		co := jsonw.Open(o.B)
		co.Uint("frame", cl.Frame)
		co.String("dir", cl.Dir)
		co.Uint("code", cl.Code)
		co.OptString("reason", cl.Reason)
		o.B, _ = co.Close()
	}
	o.Pair("datagrams", c.Datagrams)
	o.Pair("initial_packets", c.InitialPackets)
	o.Pair("undecrypted_initial", c.UndecryptedInitial)
	o.Pair("handshake_packets", c.HandshakePackets)
	o.Pair("short_packets", c.ShortPackets)
	o.OptUint("certificate_frame", c.CertificateFrame)
	if len(c.Certificates) > 0 {
		o.Key("certificates")
		var err error
		if o.B, err = tls.AppendCertificatesJSON(o.B, c.Certificates); err != nil {
			return o.B, err
		}
	}
	o.OptBool("name_mismatch", c.NameMismatch)
	if len(c.Findings) > 0 {
		o.Key("findings")
		o.B = tls.AppendFindingsJSON(o.B, c.Findings)
	}
	o.OptStrings("notes", c.Notes)
	return o.Close()
}
