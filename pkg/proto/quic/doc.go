// Package quic decodes what QUIC sends in the clear: long-header packets of
// versions 1 (RFC 9000/9001), 2 (RFC 9369) and the late drafts, Version
// Negotiation and Retry packets, and the Initial packets, whose keys are
// derived from the client's Destination Connection ID. Initial payloads are
// decrypted, their CRYPTO frames reassembled by offset (across packets,
// coalesced packets and reordering, within caps) and the ClientHello and
// ServerHello handed to package tls. A Parser holds one UDP flow's state
// and emits one "quic" event per connection it saw.
package quic
