// Command readfloor reads a capture with gopacket's pcapgo and nothing else:
// the floor that scripts/bench compares phonehome with.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	n := 0
	for {
		if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, err)
			}
			break
		}
		n++
	}
	fmt.Println(n, "frames")
}
