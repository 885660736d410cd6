package audit

import "strings"

// Channel is how a flow's content travelled, as reports name it in
// Dest.Channel and Flow.Channel (those fields hold its string). Every name
// the engine emits is in the table below or is one of the derived forms:
// "STARTTLS " + a TLS channel (a cleartext protocol upgraded in place) and
// a TLS channel or QUIC + " (decrypted)" (read with a key log). A TLS
// version name that pkg/proto/tls prints for an unknown code
// ("TLS1.3-draft23", "0x7a7a") is a TLS channel too.
type Channel string

// The channels of the table, in documentation order.
const (
	ChannelTLS13 Channel = "TLS1.3"
	ChannelTLS12 Channel = "TLS1.2"
	ChannelTLS11 Channel = "TLS1.1"
	ChannelTLS10 Channel = "TLS1.0"
	ChannelSSL3  Channel = "SSL3.0"
	ChannelSSL2  Channel = "SSL2.0"
	ChannelTLS   Channel = "TLS" // version unknown (no ServerHello)
	ChannelQUIC  Channel = "QUIC"
	ChannelDTLS  Channel = "DTLS"
	ChannelSSH   Channel = "SSH"
	ChannelDoT   Channel = "DoT"
	ChannelDoH   Channel = "DoH"

	ChannelCoAPDTLS Channel = "CoAP/DTLS"

	ChannelHTTP      Channel = "HTTP"
	ChannelHTTP2     Channel = "HTTP/2"
	ChannelWebSocket Channel = "WebSocket"
	ChannelMQTT      Channel = "MQTT"
	ChannelDNS       Channel = "DNS"
	ChannelMDNS      Channel = "mDNS"
	ChannelDHCP      Channel = "DHCP"
	ChannelNTP       Channel = "NTP"
	ChannelSSDP      Channel = "SSDP"
	ChannelSTUN      Channel = "STUN"
	ChannelNetBIOS   Channel = "NetBIOS"
	ChannelCoAP      Channel = "CoAP"
	ChannelFTP       Channel = "FTP"
	ChannelTelnet    Channel = "Telnet"
	ChannelSMTP      Channel = "SMTP"
	ChannelPOP3      Channel = "POP3"
	ChannelIMAP      Channel = "IMAP"
	ChannelXMPP      Channel = "XMPP"

	// Verdicts on payloads no decoder recognised (leak.ClassifyPayload),
	// and custom-xor when a known identifier was found under a short XOR key.
	ChannelPlaintext        Channel = "plaintext"
	ChannelEncoded          Channel = "encoded"
	ChannelCustomXOR        Channel = "custom-xor"
	ChannelCompressed       Channel = "compressed"
	ChannelEncryptedUnknown Channel = "encrypted-unknown"
	ChannelBinaryUnknown    Channel = "binary-unknown"
	ChannelUnknown          Channel = "unknown"

	// ChannelMixed is the channel of the "(other destinations)" row that
	// collects destinations past the per-device cap.
	ChannelMixed Channel = "mixed"
)

// startTLSPrefix and decryptedSuffix make the derived channel forms.
const (
	startTLSPrefix  = "STARTTLS "
	decryptedSuffix = " (decrypted)"
)

// ChannelInfo is what reports and policies need to know about a channel.
type ChannelInfo struct {
	Name Channel
	// Plaintext: anyone on the path can read the content (no encryption,
	// or an encoding any reader undoes: base64, WebSocket masking, XOR).
	Plaintext bool
	// Encrypted: the content is encrypted on the wire. A channel can be
	// neither (compressed, binary-unknown, unknown, mixed).
	Encrypted bool
	// TLS is the TLS version channel protecting the content ("TLS1.2" for
	// "STARTTLS TLS1.2", "TLS1.3" for QUIC), empty when there is none or
	// it is not known.
	TLS Channel
	// Decrypted: phonehome read the content with a key log; on the wire
	// it is encrypted.
	Decrypted bool
	// Rank orders channels by how weak they are (higher is weaker): a
	// destination reached over several is reported by its weakest.
	Rank int
}

// Channel ranks: the weakest channel of a destination is reported.
const (
	rankNone      = 0 // no channel yet
	rankStrong    = 1 // current TLS, QUIC, SSH; also payloads of unknown kind
	rankOpaque    = 3 // encrypted with something no decoder knows
	rankOldTLS    = 4 // TLS1.1 and older
	rankPlaintext = 5
)

var channelTable = []ChannelInfo{
	{Name: ChannelTLS13, Encrypted: true, TLS: ChannelTLS13, Rank: rankStrong},
	{Name: ChannelTLS12, Encrypted: true, TLS: ChannelTLS12, Rank: rankStrong},
	{Name: ChannelTLS11, Encrypted: true, TLS: ChannelTLS11, Rank: rankOldTLS},
	{Name: ChannelTLS10, Encrypted: true, TLS: ChannelTLS10, Rank: rankOldTLS},
	{Name: ChannelSSL3, Encrypted: true, TLS: ChannelSSL3, Rank: rankOldTLS},
	{Name: ChannelSSL2, Encrypted: true, TLS: ChannelSSL2, Rank: rankOldTLS},
	{Name: ChannelTLS, Encrypted: true, Rank: rankStrong},
	{Name: ChannelQUIC, Encrypted: true, TLS: ChannelTLS13, Rank: rankStrong},
	{Name: ChannelDTLS, Encrypted: true, Rank: rankStrong},
	{Name: ChannelSSH, Encrypted: true, Rank: rankStrong},
	{Name: ChannelDoT, Encrypted: true, Rank: rankStrong},
	{Name: ChannelDoH, Encrypted: true, Rank: rankStrong},
	{Name: ChannelCoAPDTLS, Encrypted: true, Rank: rankStrong},

	{Name: ChannelHTTP, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelHTTP2, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelWebSocket, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelMQTT, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelDNS, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelMDNS, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelDHCP, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelNTP, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelSSDP, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelSTUN, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelNetBIOS, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelCoAP, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelFTP, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelTelnet, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelSMTP, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelPOP3, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelIMAP, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelXMPP, Plaintext: true, Rank: rankPlaintext},

	{Name: ChannelPlaintext, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelEncoded, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelCustomXOR, Plaintext: true, Rank: rankPlaintext},
	{Name: ChannelCompressed, Rank: rankStrong},
	{Name: ChannelEncryptedUnknown, Encrypted: true, Rank: rankOpaque},
	{Name: ChannelBinaryUnknown, Rank: rankStrong},
	{Name: ChannelUnknown, Rank: rankStrong},
	{Name: ChannelMixed, Rank: rankStrong},
}

// channelAliases are other spellings of table names (older policy files
// wrote SSLv3).
var channelAliases = map[string]Channel{"sslv3": ChannelSSL3, "sslv2": ChannelSSL2}

// channelIndex holds every table name as written and in lower case, and
// the aliases in lower case.
var channelIndex = func() map[string]ChannelInfo {
	m := make(map[string]ChannelInfo, 2*len(channelTable)+len(channelAliases))
	for _, c := range channelTable {
		m[string(c.Name)] = c
		m[strings.ToLower(string(c.Name))] = c
	}
	for a, c := range channelAliases {
		m[a] = m[strings.ToLower(string(c))]
	}
	return m
}()

// Channels returns the table's channels in documentation order (the
// derived STARTTLS and decrypted forms are not listed).
func Channels() []Channel {
	out := make([]Channel, len(channelTable))
	for i, c := range channelTable {
		out[i] = c.Name
	}
	return out
}

// Info looks a channel up, case-insensitively; ok is false for a name
// that is neither in the table nor a derived form of one.
func (c Channel) Info() (info ChannelInfo, ok bool) {
	s := string(c)
	if info, ok := channelIndex[s]; ok {
		return info, true
	}
	if info, ok := channelIndex[strings.ToLower(s)]; ok {
		return info, true
	}
	if v, found := cutPrefixFold(s, startTLSPrefix); found {
		inner, ok := tlsVersion(Channel(v))
		if !ok {
			return ChannelInfo{}, false
		}
		inner.Name = c
		return inner, true
	}
	if v, found := cutSuffixFold(s, decryptedSuffix); found {
		inner, ok := tlsVersion(Channel(v))
		if !ok && strings.EqualFold(v, string(ChannelQUIC)) {
			inner, ok = channelIndex["quic"], true
		}
		if !ok {
			return ChannelInfo{}, false
		}
		inner.Name, inner.Decrypted = c, true
		return inner, true
	}
	return tlsVersion(c)
}

// tlsVersion looks up a TLS version channel: a table entry with a TLS
// version, "TLS" itself, or a name pkg/proto/tls prints for a code it does
// not know (a TLS 1.3 draft, a hex code).
func tlsVersion(c Channel) (ChannelInfo, bool) {
	s := string(c)
	info, ok := channelIndex[s]
	if !ok {
		info, ok = channelIndex[strings.ToLower(s)]
	}
	if ok {
		if info.TLS != "" && info.Name != ChannelQUIC || info.Name == ChannelTLS {
			return info, true
		}
		return ChannelInfo{}, false
	}
	if strings.HasPrefix(s, "TLS1.3-draft") && len(s) > len("TLS1.3-draft") ||
		len(s) == 6 && strings.HasPrefix(s, "0x") && strings.Trim(s[2:], "0123456789abcdef") == "" {
		return ChannelInfo{Name: c, Encrypted: true, Rank: rankStrong}, true
	}
	return ChannelInfo{}, false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// Known reports whether c is a channel of the vocabulary.
func (c Channel) Known() bool {
	_, ok := c.Info()
	return ok
}

// Plaintext reports whether content on c can be read by anyone on the
// path (no encryption, or an encoding any reader undoes).
func (c Channel) Plaintext() bool {
	info, _ := c.Info()
	return info.Plaintext
}

// Encrypted reports whether content on c is encrypted on the wire.
func (c Channel) Encrypted() bool {
	info, _ := c.Info()
	return info.Encrypted
}

// Rank orders channels by weakness (higher is weaker); "" ranks 0 and a
// name outside the vocabulary ranks as an unknown payload.
func (c Channel) Rank() int {
	if c == "" {
		return rankNone
	}
	if info, ok := c.Info(); ok {
		return info.Rank
	}
	return rankStrong
}

// Replaces reports whether c should replace cur as a destination's
// reported channel: the weakest wins, ties alphabetically; "" never wins.
func (c Channel) Replaces(cur Channel) bool {
	if c == "" {
		return false
	}
	if cur == "" {
		return true
	}
	if rc, rcur := c.Rank(), cur.Rank(); rc != rcur {
		return rc > rcur
	}
	return c < cur
}

// Same reports whether a and b name one channel (case and aliases aside).
func (a Channel) Same(b Channel) bool {
	ia, oka := a.Info()
	ib, okb := b.Info()
	if oka && okb {
		return ia.Name == ib.Name
	}
	return strings.EqualFold(string(a), string(b))
}

// StartTLS is the channel of a cleartext protocol upgraded in place to
// the TLS version tls ("STARTTLS TLS1.2").
func StartTLS(tls Channel) Channel { return Channel(startTLSPrefix + string(tls)) }

// Decrypted is the channel of TLS or QUIC content read with a key log
// ("TLS1.3 (decrypted)").
func Decrypted(c Channel) Channel { return Channel(string(c) + decryptedSuffix) }
