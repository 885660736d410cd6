package tlsdecrypt

import (
	"fmt"
)

// Versions (wire codes).
const (
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// keys12 derives both directions' record ciphers of a TLS 1.0-1.2 session
// from its master secret (RFC 5246 section 6.3): key_block = PRF(master,
// "key expansion", server_random + client_random), cut into client MAC
// key, server MAC key, client key, server key, client IV, server IV.
func keys12(s suite, version uint16, master []byte, clientRandom, serverRandom [32]byte, etm bool) (client, server recordCipher, err error) {
	if s.tls13 {
		return nil, nil, fmt.Errorf("suite %#04x is TLS 1.3 only", s.id)
	}
	if s.kind != kindCBC && version < VersionTLS12 {
		return nil, nil, fmt.Errorf("AEAD suite %#04x before TLS 1.2", s.id)
	}
	seed := make([]byte, 0, 64)
	seed = append(append(seed, serverRandom[:]...), clientRandom[:]...)
	macLen, ivLen := s.macLen, s.fixedIVLen()
	n := 2*macLen + 2*s.keyLen + 2*ivLen
	var kb []byte
	if version >= VersionTLS12 {
		kb = prf12(s.hash.New, master, "key expansion", seed, n)
	} else {
		kb = prf10(master, "key expansion", seed, n)
	}
	cut := func(k int) []byte { b := kb[:k]; kb = kb[k:]; return b }
	cMAC, sMAC := cut(macLen), cut(macLen)
	cKey, sKey := cut(s.keyLen), cut(s.keyLen)
	cIV, sIV := cut(ivLen), cut(ivLen)
	mk := func(key, mac, iv []byte) (recordCipher, error) {
		if s.kind == kindCBC {
			return newCBC(s, key, mac, iv, etm, version == VersionTLS10)
		}
		a, err := newAEAD(s, key)
		if err != nil {
			return nil, err
		}
		return &aead12{aead: a, iv: iv, explicit: s.kind == kindGCM}, nil
	}
	if client, err = mk(cKey, cMAC, cIV); err != nil {
		return nil, nil, err
	}
	server, err = mk(sKey, sMAC, sIV)
	return client, server, err
}

// keys13 is the record cipher of one TLS 1.3 traffic secret (RFC 8446
// section 7.3).
func keys13(s suite, secret []byte) (*aead13, error) {
	key, err := ExpandLabel(s.hash, secret, "key", nil, s.keyLen)
	if err != nil {
		return nil, err
	}
	iv, err := ExpandLabel(s.hash, secret, "iv", nil, 12)
	if err != nil {
		return nil, err
	}
	a, err := newAEAD(s, key)
	if err != nil {
		return nil, err
	}
	c := &aead13{aead: a}
	copy(c.iv[:], iv)
	return c, nil
}

// nextSecret is the traffic secret after a KeyUpdate (RFC 8446 section
// 7.2).
func nextSecret(s suite, secret []byte) ([]byte, error) {
	return ExpandLabel(s.hash, secret, "traffic upd", nil, s.hash.Size())
}
