package sniff

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the profile as encoding/json marshals it, without
// reflection (the "up" and "down" of unknown events;
// TestEventAppendersMatchEncodingJSON).
func (p *Profile) AppendJSON(b []byte) ([]byte, error) {
	if p == nil {
		return append(b, "null"...), nil
	}
	o := jsonw.Open(b)
	o.Int("len", int64(p.Len))
	o.String("head_hex", p.HeadHex)
	o.String("head_text", p.HeadText)
	o.Float("entropy", p.Entropy)
	o.Float("chi_square", p.ChiSquare)
	o.Float("printable_ratio", p.PrintableRatio)
	o.OptString("magic", p.Magic)
	o.OptString("alphabet", p.Alphabet)
	o.String("verdict", string(p.Verdict))
	return o.Close()
}
