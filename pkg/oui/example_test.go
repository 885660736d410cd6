package oui_test

import (
	"fmt"
	"net"

	"github.com/phonehome/phonehome/pkg/oui"
)

func ExampleDescribe() {
	for _, s := range []string{"b8:27:eb:01:02:03", "70:b3:d5:f3:0a:bc", "da:a1:19:12:34:56"} {
		mac, _ := net.ParseMAC(s)
		in := oui.Describe(mac)
		fmt.Printf("%s vendor=%q block=%s randomised=%v\n", s, in.Vendor, in.Block, in.Local)
	}
	// Output:
	// b8:27:eb:01:02:03 vendor="Raspberry Pi Foundation" block=MA-L randomised=false
	// 70:b3:d5:f3:0a:bc vendor="ADE Technology Inc." block=MA-S randomised=false
	// da:a1:19:12:34:56 vendor="" block= randomised=true
}
