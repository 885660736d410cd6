package stun

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestEventAppendersMatchEncodingJSON).
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	o := jsonw.Open(b)
	o.String("method", e.Method)
	o.String("class", e.Class)
	o.OptBool("classic", e.Classic)
	o.String("transaction_id", e.TransactionID)
	o.OptString("mapped_address", e.MappedAddress)
	o.OptString("xor_mapped_address", e.XORMappedAddress)
	o.OptString("xor_relayed_address", e.XORRelayedAddress)
	o.OptStrings("xor_peer_addresses", e.XORPeerAddresses)
	o.OptStrings("other_addresses", e.OtherAddresses)
	o.OptString("software", e.Software)
	o.OptString("username", e.Username)
	o.OptString("realm", e.Realm)
	o.OptInt("error_code", int64(e.ErrorCode))
	o.OptUint("lifetime", uint64(e.Lifetime))
	o.OptBool("integrity", e.Integrity)
	o.String("attributes", e.Attributes)
	o.OptString("error", e.Error)
	return o.Close()
}
