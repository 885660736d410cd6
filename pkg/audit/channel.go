package audit

import "strings"

// Channel names used in Dest.Channel and Flow.Channel.
//
//	TLS1.3 TLS1.2 TLS1.1 TLS1.0 SSLv3 TLS (version unknown) QUIC DTLS SSH
//	HTTP MQTT DNS DHCP NTP SSDP STUN mDNS
//	plaintext encoded custom-xor     (unknown protocol, readable or trivially decodable)
//	compressed encrypted-unknown binary-unknown unknown
var plaintextChannels = map[string]bool{
	"http": true, "mqtt": true, "dns": true, "mdns": true, "dhcp": true, "ntp": true, "ssdp": true, "stun": true,
	"plaintext": true, "encoded": true, "custom-xor": true, "ftp": true, "telnet": true, "smtp": true,
	"pop3": true, "imap": true, "coap": true, "netbios": true,
}

// PlaintextChannel reports whether content on channel c can be read by
// anyone on the path (no encryption, or an encoding any reader undoes).
func PlaintextChannel(c string) bool { return plaintextChannels[strings.ToLower(c)] }
