package engine

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestUnknownEventAppendJSON).
func (e unknownEvent) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"up":`...)
	b, err := e.Up.AppendJSON(b)
	if err != nil {
		return b, err
	}
	if e.Down != nil {
		b = append(b, `,"down":`...)
		if b, err = e.Down.AppendJSON(b); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}
