package geo_test

import (
	"fmt"
	"net/netip"

	"github.com/phonehome/phonehome/pkg/geo"
)

func ExampleResolver_Lookup() {
	r, err := geo.New(geo.Options{LAN: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	if err != nil {
		panic(err)
	}
	for _, s := range []string{"8.219.0.1", "47.241.18.20", "1.1.1.1", "192.168.1.20", "100.64.1.1"} {
		in := r.Lookup(netip.MustParseAddr(s))
		switch {
		case in.Special != "":
			fmt.Println(s, in.Special)
		case in.Country == geo.Anycast:
			fmt.Printf("%s anycast (%s, registered %s), AS%d %s\n", s, in.AnycastNet, in.Registered, in.ASN, in.ASOrg)
		case in.RegisteredElsewhere():
			fmt.Printf("%s %s (%s, registered %s), AS%d %s\n", s, in.CountryName, in.Country, in.Registered, in.ASN, in.ASOrg)
		default:
			fmt.Printf("%s %s (%s), AS%d %s\n", s, in.CountryName, in.Country, in.ASN, in.ASOrg)
		}
	}
	// Output:
	// 8.219.0.1 Singapore (SG), AS45102 Alibaba (US) Technology Co., Ltd.
	// 47.241.18.20 Singapore (SG, registered US), AS45102 Alibaba (US) Technology Co., Ltd.
	// 1.1.1.1 anycast (Cloudflare, registered AU), AS13335 Cloudflare, Inc.
	// 192.168.1.20 lan
	// 100.64.1.1 cgnat
}
