package main

import (
	"net/netip"
	"testing"

	"github.com/phonehome/phonehome/pkg/geo/internal/geodata"
)

func TestDateOf(t *testing.T) {
	for in, want := range map[string]string{
		"2.3.2026061719": "2026-06-17",
		"2.3.20250101":   "2025-01-01",
		"1.0.0":          "",
	} {
		if got := dateOf(in); got != want {
			t.Errorf("dateOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestU128(t *testing.T) {
	tests := []struct {
		ip   string
		want geodata.U128
	}{
		{"1.2.3.4", geodata.U128{Lo: 0x01020304}},
		{"255.255.255.255", geodata.U128{Lo: 0xffffffff}},
		{"2001:db8::1", geodata.U128{Hi: 0x20010db800000000, Lo: 1}},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", geodata.U128{Hi: ^uint64(0), Lo: ^uint64(0)}},
	}
	for _, tc := range tests {
		if got := u128(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("u128(%s) = %+v, want %+v", tc.ip, got, tc.want)
		}
	}
}

func TestCountryName(t *testing.T) {
	for code, want := range map[string]string{"SG": "Singapore", "KR": "South Korea", "ZZ": "ZZ", "QQ": "QQ"} {
		if got := countryName(code); got != want {
			t.Errorf("countryName(%s) = %q, want %q", code, got, want)
		}
	}
}

func TestRangesFamily(t *testing.T) {
	idx := map[string]uint32{"SG": 1}
	if _, err := ranges([][3]string{{"1.0.0.0", "1.0.0.255", "SG"}}, idx, false); err == nil {
		t.Error("IPv4 range accepted in the IPv6 file")
	}
	rs, err := ranges([][3]string{{"1.0.0.0", "1.0.0.255", "SG"}}, idx, true)
	if err != nil || len(rs) != 1 || rs[0].Val != 1 || rs[0].End.Lo != 0x010000ff {
		t.Errorf("ranges = %+v, %v", rs, err)
	}
}
