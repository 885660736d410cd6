package quicdecrypt

import "sort"

// reasm puts the byte ranges of one stream (or CRYPTO stream) back in
// order. Ranges ahead of the next expected offset wait, up to a byte
// budget shared per connection; overlaps keep the first copy.
type reasm struct {
	next    uint64
	pending []seg
	fin     int64 // final size, -1 unknown
	done    bool  // FIN delivered
}

type seg struct {
	off  uint64
	data []byte
}

// add delivers in-order bytes to out; budget is decremented by bytes held
// and incremented by bytes released. It returns false when the range would
// exceed the budget (the caller may skip ahead).
func (r *reasm) add(off uint64, data []byte, budget *int, out func([]byte)) bool {
	end := off + uint64(len(data))
	if end <= r.next {
		return true // retransmission
	}
	if off < r.next {
		data = data[r.next-off:]
		off = r.next
	}
	if off > r.next {
		if len(data) > *budget {
			return false
		}
		*budget -= len(data)
		r.pending = append(r.pending, seg{off, append([]byte(nil), data...)})
		sort.SliceStable(r.pending, func(i, j int) bool { return r.pending[i].off < r.pending[j].off })
		return true
	}
	out(data)
	r.next = end
	r.flush(budget, out)
	return true
}

// flush delivers waiting ranges that became in order.
func (r *reasm) flush(budget *int, out func([]byte)) {
	i := 0
	for ; i < len(r.pending); i++ {
		s := r.pending[i]
		if s.off > r.next {
			break
		}
		*budget += len(s.data)
		if e := s.off + uint64(len(s.data)); e > r.next {
			out(s.data[r.next-s.off:])
			r.next = e
		}
	}
	r.pending = append(r.pending[:0], r.pending[i:]...)
}

// skipTo gives up the bytes before off (they never came within the
// budget) and returns how many were skipped.
func (r *reasm) skipTo(off uint64, budget *int, out func([]byte)) uint64 {
	if off <= r.next {
		return 0
	}
	n := off - r.next
	r.next = off
	r.flush(budget, out)
	return n
}
