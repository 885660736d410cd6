package report

import (
	"maps"
	"slices"

	"github.com/phonehome/phonehome/pkg/audit"
)

// clone deep-copies a report (Event.Fields is shared: events are
// immutable values once built).
func clone(r *audit.Report) *audit.Report {
	c := *r
	c.Inputs = slices.Clone(r.Inputs)
	for i := range c.Inputs {
		c.Inputs[i].LinkTypes = slices.Clone(c.Inputs[i].LinkTypes)
	}
	c.Data = slices.Clone(r.Data)
	c.Warnings = slices.Clone(r.Warnings)
	c.Flows = slices.Clone(r.Flows)
	c.Events = slices.Clone(r.Events)
	c.Counters = maps.Clone(r.Counters)
	c.Devices = slices.Clone(r.Devices)
	for i := range c.Devices {
		cloneDevice(&c.Devices[i])
	}
	return &c
}

// cloneDevice gives d copies of the lists it shares with the device it
// was copied from.
func cloneDevice(d *audit.Device) {
	d.IPs = slices.Clone(d.IPs)
	d.Hostnames = slices.Clone(d.Hostnames)
	d.UserAgents = slices.Clone(d.UserAgents)
	if d.DHCP != nil {
		h := *d.DHCP
		d.DHCP = &h
	}
	d.Destinations = slices.Clone(d.Destinations)
	for j := range d.Destinations {
		d.Destinations[j].Protocols = slices.Clone(d.Destinations[j].Protocols)
	}
	d.Leaks = slices.Clone(d.Leaks)
	d.Findings = slices.Clone(d.Findings)
	d.Summary.ByCountry = slices.Clone(d.Summary.ByCountry)
	d.Summary.ByOwner = slices.Clone(d.Summary.ByOwner)
	d.Summary.ThirdParties = slices.Clone(d.Summary.ThirdParties)
}

// normalize prepares a cloned report for JSON: required lists become []
// instead of null, the counters map {} instead of null, an empty schema
// version gets the current one, and all times are UTC.
func normalize(r *audit.Report) {
	if r.SchemaVersion == "" {
		r.SchemaVersion = audit.SchemaVersion
	}
	r.Inputs = nonNil(r.Inputs)
	for i := range r.Inputs {
		in := &r.Inputs[i]
		in.LinkTypes = nonNil(in.LinkTypes)
		in.First, in.Last = in.First.UTC(), in.Last.UTC()
	}
	r.Data = nonNil(r.Data)
	r.Devices = nonNil(r.Devices)
	r.Warnings = nonNil(r.Warnings)
	r.Flows = nonNil(r.Flows)
	r.Events = nonNil(r.Events)
	if r.Counters == nil {
		r.Counters = map[string]uint64{}
	}
	for i := range r.Flows {
		f := &r.Flows[i]
		f.First, f.Last = f.First.UTC(), f.Last.UTC()
	}
	for i := range r.Devices {
		normalizeDevice(&r.Devices[i])
	}
}

func normalizeDevice(d *audit.Device) {
	d.IPs = nonNil(d.IPs)
	d.FirstSeen, d.LastSeen = d.FirstSeen.UTC(), d.LastSeen.UTC()
	d.Destinations = nonNil(d.Destinations)
	for j := range d.Destinations {
		x := &d.Destinations[j]
		x.Protocols = nonNil(x.Protocols)
		x.FirstSeen, x.LastSeen = x.FirstSeen.UTC(), x.LastSeen.UTC()
	}
	d.Leaks = nonNil(d.Leaks)
	for j := range d.Leaks {
		d.Leaks[j].Time = d.Leaks[j].Time.UTC()
	}
	d.Findings = nonNil(d.Findings)
	for j := range d.Findings {
		d.Findings[j].Time = d.Findings[j].Time.UTC()
	}
	d.Summary.ByCountry = nonNil(d.Summary.ByCountry)
	d.Summary.ByOwner = nonNil(d.Summary.ByOwner)
	d.Summary.ThirdParties = nonNil(d.Summary.ThirdParties)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
