package http

// The structures of an exchange (pending, Event, Request, Response, Body
// and the header arrays) are reused by later messages of the decoders of
// one Spec once an emitted event turns out to be nobody's: the sink did not
// call Event.Fields (the engine calls it only when it writes events). A run
// that writes no events then builds each exchange in memory recycled from
// earlier ones.

// maxFree bounds each free list of shared.
const maxFree = 64

// free holds recycled parts.
type free struct {
	pendings []*pending // each with its Event
	requests []*Request
	resps    []*Response
	bodies   []*Body
	decoders []*Decoder // of ended connections (Decoder.Recycle)
}

func take[T any](l *[]*T) *T {
	n := len(*l)
	if n == 0 {
		return new(T)
	}
	x := (*l)[n-1]
	(*l)[n-1] = nil
	*l = (*l)[:n-1]
	return x
}

// give keeps x, zeroed, for a later take.
func give[T any](l *[]*T, x *T) {
	if x != nil && len(*l) < maxFree {
		var zero T
		*x = zero
		*l = append(*l, x)
	}
}

// pending returns a pending event made of ev.
func (sh *shared) pending(ev Event) *pending {
	if sh == nil {
		e := new(Event) // not &ev: that would move every call's ev to the heap
		*e = ev
		return &pending{ev: e}
	}
	pe := take(&sh.free.pendings)
	e := pe.ev
	if e == nil {
		e = new(Event)
	}
	*e = ev
	*pe = pending{ev: e}
	return pe
}

// request returns a Request to fill; its spare header array is the only
// field worth keeping.
func (sh *shared) request() *Request {
	if sh == nil {
		return new(Request)
	}
	return take(&sh.free.requests)
}

// response returns a Response to fill, as request.
func (sh *shared) response() *Response {
	if sh == nil {
		return new(Response)
	}
	return take(&sh.free.resps)
}

// body returns a Body to fill.
func (sh *shared) body() *Body {
	if sh == nil {
		return new(Body)
	}
	return take(&sh.free.bodies)
}

// recycle keeps the parts of an emitted event nobody holds any more.
func (sh *shared) recycle(pe *pending) {
	ev := pe.ev
	if rq := ev.Request; rq != nil {
		give(&sh.free.bodies, rq.Body)
		spare := spareOf(rq.Headers, rq.spare)
		give(&sh.free.requests, rq)
		rq.spare = spare
	}
	if rs := ev.Response; rs != nil {
		give(&sh.free.bodies, rs.Body)
		spare := spareOf(rs.Headers, rs.spare)
		give(&sh.free.resps, rs)
		rs.spare = spare
	}
	give(&sh.free.pendings, pe)
	pe.ev = ev
	*ev = Event{}
}

// spareOf returns the header array to keep: the one used, emptied (its
// strings cleared for the collector), else the unused spare.
func spareOf(used, spare []Header) []Header {
	if cap(used) == 0 {
		return spare
	}
	clear(used)
	return used[:0]
}
