// Package httpfield holds the name/value types the HTTP decoders share:
// HTTP/1.x (pkg/proto/http) and HTTP/2 and HTTP/3 (pkg/proto/http2, whose
// event HTTP/3 reuses) write their header fields and their query, form and
// cookie pairs with the same two types and the same JSON.
package httpfield

// Header is one header field as sent, in wire order and original case
// (HTTP/2 and HTTP/3 field names are lowercase on the wire).
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Param is one name/value pair of a query string, form, or cookie.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}
