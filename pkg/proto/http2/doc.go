// Package http2 decodes cleartext HTTP/2 (h2c) from the reassembled bytes
// of one TCP connection: by prior knowledge (the client preface) with New,
// or after an HTTP/1.1 "Upgrade: h2c" answered by 101 with NewUpgrade,
// which takes the bytes that followed. Frames are read with
// golang.org/x/net/http2's Framer and header blocks with one
// golang.org/x/net/http2/hpack decoder per direction.
//
// Parser is a proto.StreamParser: incremental, bounded by Limits, never
// panicking. Each stream becomes one Event (request, response, bodies
// after content decoding), and DNS-over-HTTPS exchanges carry their DNS
// messages decoded by pkg/proto/dns.
//
// HPACK keeps a table that both ends update with every header block, so a
// gap desynchronises it. After a gap the decoder finds the next frame
// boundary, restarts the table empty and flags the streams that follow
// "after-gap": an empty table holds exactly the entries added since, which
// sit at the same indices as in the real table, so a field is decoded
// exactly or, when it refers to an older entry, not at all (the block is
// flagged "hpack-desync" and the table restarts again). Nothing is guessed.
package http2
