package batch

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Shard is part I of N of a set of captures (0 <= I < N). The zero value
// and 0/1 are the whole set.
//
// A capture belongs to shard I when the first 8 bytes of its SHA-256, read
// as a big-endian integer, are I modulo N. Every machine computes this
// alike from the bytes alone: the split depends neither on where the
// volume is mounted, nor on the order a directory lists, nor on which other
// files exist, so captures added between two runs do not move the others,
// and copies of one capture under two names always land in the same shard
// (which analyses it once), so no two shards write a result of the same
// name. The price is that every shard reads every file once to hash it.
type Shard struct{ I, N int }

// ParseShard reads "I/N", e.g. "3/8".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 0/4", s)
	}
	if n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want 0 <= I < N", s)
	}
	return Shard{I: i, N: n}, nil
}

func (s Shard) n() int { return max(s.N, 1) }

// String is "I/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.n()) }

// Has reports whether the capture with this hex SHA-256 is in the shard.
func (s Shard) Has(sha string) bool {
	if s.n() == 1 {
		return true
	}
	b, err := hex.DecodeString(sha)
	if err != nil || len(b) < 8 {
		return s.I == 0 // not a hash: cannot happen for Find's captures
	}
	return binary.BigEndian.Uint64(b)%uint64(s.n()) == uint64(s.I)
}

// Whole reports whether the shard is the whole set.
func (s Shard) Whole() bool { return s.n() == 1 }

// Plan selects the captures of shard s (caps sorted by path, as Find
// returns them). A capture whose bytes equal an earlier one's (same
// SHA-256) is returned in dups, mapped to the path of the first: it is
// analysed once.
func Plan(caps []Capture, s Shard) (todo []Capture, dups map[string]string) {
	first := map[string]string{}
	dups = map[string]string{}
	for _, c := range caps {
		if !s.Has(c.SHA256) {
			continue
		}
		if p, ok := first[c.SHA256]; ok {
			dups[c.Path] = p
			continue
		}
		first[c.SHA256] = c.Path
		todo = append(todo, c)
	}
	return todo, dups
}
