package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
)

type truthConv struct {
	A          string `json:"a"`
	B          string `json:"b"`
	AToBFrames uint64 `json:"a_to_b_frames"`
	AToBBytes  uint64 `json:"a_to_b_bytes"`
	BToAFrames uint64 `json:"b_to_a_frames"`
	BToABytes  uint64 `json:"b_to_a_bytes"`
	FirstFrame uint64 `json:"first_frame"`
}

type truthConvFile struct {
	Conversations struct {
		TCP        []truthConv       `json:"tcp"`
		UDP        []truthConv       `json:"udp"`
		Crosscheck map[string]string `json:"crosscheck_frames"`
	} `json:"conversations"`
}

// convExceptions lists captures where phonehome and tshark disagree on
// conversations, with the reason we believe phonehome is right (or the
// difference is a matter of definition).
var convExceptions = map[string]string{
	// Three fragments of one datagram, the third overlapping the first.
	// Receivers (Linux, and RFC 5722 for IPv6) drop such datagrams, and
	// gopacket's defragmenter does the same; tshark reassembles it.
	"zeek/ipv4/fragmented-1.pcap": "overlapping IPv4 fragments are dropped, as receivers do",
}

// convLine renders one conversation with endpoints in a canonical order.
func convLine(transport, a, b string, ab, abBytes, ba, baBytes uint64) string {
	if a > b {
		a, b = b, a
		ab, abBytes, ba, baBytes = ba, baBytes, ab, abBytes
	}
	return fmt.Sprintf("%s %s <-> %s frames %d/%d bytes %d/%d", transport, a, b, ab, ba, abBytes, baBytes)
}

// TestCorpusConversations compares TCP and UDP conversations (endpoints,
// frames and frame bytes each way) with tshark's, for every dev capture.
func TestCorpusConversations(t *testing.T) {
	entries := corpus.Dev(t)
	var checked, exact int
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			var truth truthConvFile
			corpus.LoadTruth(t, e, &truth)
			cfg := Config{KeepFlows: true, Flow: flow.Config{IdleTimeout: math.MaxInt64, UDPIdleTimeout: math.MaxInt64, ClosedLinger: math.MaxInt64}}
			rep, err := Run(context.Background(), cfg, []string{e.Path})
			if err != nil && !errors.Is(err, ErrDamaged) {
				if e.HasTag("corrupt") || e.HasTag("empty") || e.HasTag("zero-packets") {
					return
				}
				t.Fatalf("run: %v", err)
			}
			want := map[string]int{}
			for _, c := range truth.Conversations.TCP {
				want[convLine("tcp", c.A, c.B, c.AToBFrames, c.AToBBytes, c.BToAFrames, c.BToABytes)]++
			}
			for _, c := range truth.Conversations.UDP {
				want[convLine("udp", c.A, c.B, c.AToBFrames, c.AToBBytes, c.BToAFrames, c.BToABytes)]++
			}
			got := map[string]int{}
			for _, f := range rep.Flows {
				if f.Transport != "tcp" && f.Transport != "udp" {
					continue
				}
				got[convLine(f.Transport, f.Client, f.Server, f.PacketsUp, f.BytesUp, f.PacketsDown, f.BytesDown)]++
			}
			diff := diffCounts(want, got)
			checked++
			if diff == "" {
				exact++
				return
			}
			if why, ok := convExceptions[e.Name()]; ok {
				t.Logf("known difference (%s):\n%s", why, diff)
				return
			}
			t.Errorf("conversations differ from tshark (- tshark only, + phonehome only):\n%s", diff)
		})
	}
	t.Logf("%d of %d captures match tshark's conversations exactly", exact, checked)
}

func diffCounts(want, got map[string]int) string {
	var lines []string
	for k, n := range want {
		for i := got[k]; i < n; i++ {
			lines = append(lines, "- "+k)
		}
	}
	for k, n := range got {
		for i := want[k]; i < n; i++ {
			lines = append(lines, "+ "+k)
		}
	}
	sort.Strings(lines)
	if len(lines) > 40 {
		lines = append(lines[:40], fmt.Sprintf("... %d more", len(lines)-40))
	}
	return strings.Join(lines, "\n")
}

var _ = audit.Flow{}
