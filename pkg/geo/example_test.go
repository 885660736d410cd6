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
	for _, s := range []string{"8.219.0.1", "192.168.1.20", "100.64.1.1"} {
		in := r.Lookup(netip.MustParseAddr(s))
		if in.Special != "" {
			fmt.Println(s, in.Special)
			continue
		}
		fmt.Printf("%s %s (%s), AS%d %s\n", s, in.CountryName, in.Country, in.ASN, in.ASOrg)
	}
	// Output:
	// 8.219.0.1 Singapore (SG), AS45102 Alibaba (US) Technology Co., Ltd.
	// 192.168.1.20 lan
	// 100.64.1.1 cgnat
}
