// Package http3 decodes HTTP/3 (RFC 9114) from the decrypted streams of one
// QUIC connection, as pkg/quicdecrypt delivers them: in order per stream
// and direction, with gaps and FINs.
//
// Unidirectional streams are told apart by their type: the control
// stream's SETTINGS give each side's QPACK table capacity; each side's
// QPACK encoder stream is replayed into the pkg/qpack decoder of the
// header sections that side sends; decoder, push and reserved streams are
// skipped. Request streams (client-initiated bidirectional) are split into
// frames: HEADERS are decoded with QPACK, DATA becomes the body (content
// codings undone, bounded). Each request stream becomes one Event, in the
// shape of pkg/proto/http2's (the same request and response types), with
// version "HTTP/3".
//
// Header sections that use the dynamic table are decoded only once the
// SETTINGS of the receiving side are known (the Required Insert Count
// cannot be read without them) and the encoder stream has delivered the
// entries; a section that never can be is flagged, never guessed. A gap in
// a request stream ends that side of the stream ("gap"); a gap in an
// encoder stream makes every later section that needs the dynamic table
// undecodable ("qpack-desync").
package http3
