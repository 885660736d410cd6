package tls

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the session as encoding/json marshals it, without
// reflection (the Fields of "tls" events: audit.JSONAppender;
// TestEventAppendersMatchEncodingJSON).
func (ss *Session) AppendJSON(b []byte) ([]byte, error) {
	if ss == nil {
		return append(b, "null"...), nil
	}
	o := jsonw.Open(b)
	o.OptString("sni", ss.SNI)
	o.OptString("version", ss.Version)
	o.OptUint("record_version", uint64(ss.RecordVersion))
	o.Key("client_hellos")
	if ss.ClientHellos == nil {
		o.B = append(o.B, "null"...)
	} else {
		o.B = append(o.B, '[')
		for i := range ss.ClientHellos {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			o.B = ss.ClientHellos[i].appendJSON(o.B)
		}
		o.B = append(o.B, ']')
	}
	if ss.HelloRetry != nil {
		o.Key("hello_retry_request")
		o.B = ss.HelloRetry.appendJSON(o.B)
	}
	if ss.ServerHello != nil {
		o.Key("server_hello")
		o.B = ss.ServerHello.appendJSON(o.B)
	}
	o.OptUint("certificate_frame", ss.CertificateFrame)
	if len(ss.Certificates) > 0 {
		o.Key("certificates")
		var err error
		if o.B, err = AppendCertificatesJSON(o.B, ss.Certificates); err != nil {
			return o.B, err
		}
	}
	o.OptBool("name_mismatch", ss.NameMismatch)
	if len(ss.Alerts) > 0 {
		o.Key("alerts")
		o.B = append(o.B, '[')
		for i, a := range ss.Alerts {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			ao := jsonw.Open(o.B)
			ao.Uint("frame", a.Frame)
			ao.String("dir", a.Dir)
			ao.Uint("level", uint64(a.Level))
			ao.Uint("description", uint64(a.Description))
			o.B, _ = ao.Close()
		}
		o.B = append(o.B, ']')
	}
	o.Pair("records", ss.Records)
	o.Pair("app_data_bytes", ss.AppData)
	o.Pair("gap_bytes", ss.GapBytes)
	o.OptInt("handshake_skipped", int64(ss.HandshakeSkipped))
	o.OptInt("parse_errors", int64(ss.ParseErrors))
	if len(ss.Findings) > 0 {
		o.Key("findings")
		o.B = AppendFindingsJSON(o.B, ss.Findings)
	}
	o.OptStrings("notes", ss.Notes)
	return o.Close()
}

// AppendFindingsJSON appends findings as encoding/json marshals the list
// (QUIC events hold them too).
func AppendFindingsJSON(b []byte, fs []Finding) []byte {
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		o := jsonw.Open(b)
		o.String("kind", f.Kind)
		o.String("severity", f.Severity.String())
		o.String("message", f.Message)
		o.Uint("frame", f.Frame)
		b, _ = o.Close()
	}
	return append(b, ']')
}

// AppendJSON appends the hello as encoding/json marshals it (QUIC events
// hold one; TestEventAppendersMatchEncodingJSON).
func (ch *ClientHelloInfo) AppendJSON(b []byte) ([]byte, error) {
	if ch == nil {
		return append(b, "null"...), nil
	}
	return ch.appendJSON(b), nil
}

// appendJSON writes the embedded ClientHello's fields in its place, as
// encoding/json does.
func (ch *ClientHelloInfo) appendJSON(b []byte) []byte {
	o := jsonw.Open(b)
	o.Uint("frame", ch.Frame)
	o.String("max_version", ch.MaxVersion)
	o.OptUint("record_version", uint64(ch.RecordVersion))
	o.Uint("legacy_version", uint64(ch.LegacyVersion))
	o.Int("session_id_len", int64(ch.SessionIDLen))
	o.OptString("sni", ch.SNI)
	o.OptStrings("alpn", ch.ALPN)
	jsonw.OptUints(&o, "supported_versions", ch.SupportedVersions)
	jsonw.Uints(&o, "cipher_suites", ch.CipherSuites)
	o.Bytes("compression_methods", ch.Compression)
	jsonw.Uints(&o, "extensions", ch.Extensions)
	jsonw.OptUints(&o, "groups", ch.Groups)
	o.OptBytes("ec_point_formats", ch.PointFormats)
	jsonw.OptUints(&o, "signature_algorithms", ch.SignatureAlgorithms)
	jsonw.OptUints(&o, "key_share_groups", ch.KeyShareGroups)
	o.OptBool("ech", ch.ECH)
	o.String("ja3", ch.JA3)
	o.String("ja3_hash", ch.JA3Hash)
	o.String("ja4", ch.JA4)
	o.String("ja4_r", ch.JA4Raw)
	b, _ = o.Close()
	return b
}

// AppendJSON appends the hello as encoding/json marshals it (QUIC events
// hold one; TestEventAppendersMatchEncodingJSON).
func (sh *ServerHelloInfo) AppendJSON(b []byte) ([]byte, error) {
	if sh == nil {
		return append(b, "null"...), nil
	}
	return sh.appendJSON(b), nil
}

func (sh *ServerHelloInfo) appendJSON(b []byte) []byte {
	o := jsonw.Open(b)
	o.Uint("frame", sh.Frame)
	o.Uint("legacy_version", uint64(sh.LegacyVersion))
	o.OptUint("selected_version", uint64(sh.SelectedVersion))
	o.Uint("version", uint64(sh.Version))
	o.String("version_name", sh.VersionName)
	o.Uint("cipher_suite", uint64(sh.CipherSuite))
	o.String("cipher_suite_name", sh.CipherName)
	o.Uint("compression_method", uint64(sh.Compression))
	jsonw.Uints(&o, "extensions", sh.Extensions)
	o.OptString("alpn", sh.ALPN)
	o.OptUint("key_share_group", uint64(sh.KeyShareGroup))
	o.OptBool("hello_retry_request", sh.HelloRetry)
	b, _ = o.Close()
	return b
}

func (c *Certificate) appendJSON(b []byte) ([]byte, error) {
	o := jsonw.Open(b)
	o.OptString("subject", c.Subject)
	o.OptString("issuer", c.Issuer)
	o.OptString("cn", c.CommonName)
	o.OptStrings("san_dns", c.SANs)
	o.OptStrings("san_ip", c.SANIPs)
	o.OptString("serial", c.Serial)
	o.Time("not_before", c.NotBefore)
	o.Time("not_after", c.NotAfter)
	o.Bool("self_signed", c.SelfSigned)
	o.Bool("expired", c.Expired)
	o.OptBool("not_yet_valid", c.NotYet)
	o.String("sha256", c.SHA256)
	o.OptString("parse_error", c.ParseError)
	return o.Close()
}

// AppendCertificatesJSON appends certs as the JSON array encoding/json
// makes of them (a session's or a QUIC connection's chain).
func AppendCertificatesJSON(b []byte, certs []Certificate) ([]byte, error) {
	b = append(b, '[')
	for i := range certs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = certs[i].appendJSON(b); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}
