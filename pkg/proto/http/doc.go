// Package http decodes HTTP/1.0 and HTTP/1.1 from the reassembled bytes of
// one TCP connection. Parser is a proto.StreamParser: it is incremental
// (bytes may arrive one at a time), bounded by Limits, resumes after gaps by
// searching for the next request or status line, and never panics.
//
// Each request becomes one Event carrying the response paired with it in
// order (pipelining and keep-alive), with headers in wire order and case,
// cookies, query parameters and the decoded body (chunked and
// Content-Encoding gzip, deflate, br and zstd removed) so that a leak
// scanner can read them. CONNECT tunnels and protocol upgrades (101) stop
// HTTP parsing; Tunnel hands the opaque bytes back to the caller.
package http
