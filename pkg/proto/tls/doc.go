// Package tls decodes the cleartext part of TLS connections from reassembled
// TCP bytes: ClientHello (SNI, ALPN, versions, cipher suites, extensions,
// JA3, JA4), ServerHello and HelloRetryRequest (negotiated version and
// cipher) and, for TLS <= 1.2, the server's certificate chain. Stream
// implements proto.StreamParser and emits one "tls" event per connection;
// ParseClientHello and ParseServerHello are shared with package quic.
// Parsing uses golang.org/x/crypto/cryptobyte and never panics on input.
package tls
