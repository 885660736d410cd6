package audit

import "maps"

// Decryption counts TLS and QUIC sessions when key logs were given
// (--keylog, or secrets embedded in a pcapng): how many were decrypted,
// how many had no key in the key logs, and how many could not be decrypted
// for another reason, so that an auditor knows what was not looked at.
type Decryption struct {
	Decrypted int `json:"decrypted"`
	NoKey     int `json:"no_key"`
	Failed    int `json:"failed"`
	// Stopped counts by reason the sessions that failed and those whose
	// decryption ended before the session did: "gap" (bytes missing from
	// the capture), "auth" (a record did not authenticate), "midstream"
	// (the capture starts after the handshake), "unsupported",
	// "no-server-hello", "truncated", "limit", ...
	Stopped map[string]int `json:"stopped,omitempty"`
}

// Sessions is the number of sessions counted.
func (d *Decryption) Sessions() int {
	if d == nil {
		return 0
	}
	return d.Decrypted + d.NoKey + d.Failed
}

// Add counts one session: outcome is "decrypted", "no-key" or "failed";
// reason (may be empty) says why it failed or stopped early.
func (d *Decryption) Add(outcome, reason string) {
	switch outcome {
	case "decrypted":
		d.Decrypted++
	case "no-key":
		d.NoKey++
		if reason == "no-key" {
			return
		}
	default:
		d.Failed++
	}
	if reason != "" {
		if d.Stopped == nil {
			d.Stopped = map[string]int{}
		}
		d.Stopped[reason]++
	}
}

// Merge adds o's counts to d and returns d (a new Decryption when d is nil
// and o is not).
func (d *Decryption) Merge(o *Decryption) *Decryption {
	if o == nil {
		return d
	}
	if d == nil {
		c := *o
		c.Stopped = maps.Clone(o.Stopped)
		return &c
	}
	d.Decrypted += o.Decrypted
	d.NoKey += o.NoKey
	d.Failed += o.Failed
	for k, v := range o.Stopped {
		if d.Stopped == nil {
			d.Stopped = map[string]int{}
		}
		d.Stopped[k] += v
	}
	return d
}
