package mqtt

import (
	"fmt"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/proto"
)

// The corpus tests read TCP streams through the product's reader, decoder
// and reassembler (internal/pcaptest).

type chunk = pcaptest.Chunk

func tcpStreams(t *testing.T, path string) [][]chunk { return pcaptest.Streams(t, path) }

type truthMQTT struct {
	MQTT *struct {
		Connects []struct {
			Frame    uint64  `json:"frame"`
			ClientID *string `json:"client_id"`
			Username *string `json:"username"`
			Password *string `json:"password"`
			Version  string  `json:"protocol_version"`
		} `json:"connects"`
		Topics map[string]int `json:"topics"`
	} `json:"mqtt"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestCorpusRecall(t *testing.T) {
	var total, found, topics, topicsFound int
	for _, e := range corpus.Dev(t) {
		var truth truthMQTT
		corpus.LoadTruth(t, e, &truth)
		if truth.MQTT == nil || len(truth.MQTT.Connects)+len(truth.MQTT.Topics) == 0 {
			continue
		}
		want := map[string]int{}
		for _, c := range truth.MQTT.Connects {
			want[fmt.Sprintf("v%s id=%q user=%q pass=%q", c.Version, deref(c.ClientID), deref(c.Username), deref(c.Password))]++
		}
		got := map[string]int{}
		gotTopics := map[string]bool{}
		for _, chunks := range tcpStreams(t, e.Path) {
			p := New(Limits{}, func(ev *Event) {
				switch ev.Packet {
				case "connect":
					got[fmt.Sprintf("v%d id=%q user=%q pass=%q", ev.Version, ev.ClientID, ev.Username, ev.Password)]++
				case "publish":
					gotTopics[ev.Topic] = true
				case "subscribe", "unsubscribe":
					for _, tp := range ev.Topics {
						gotTopics[tp.Filter] = true
					}
				}
			})
			for _, c := range chunks {
				if c.Gap > 0 {
					p.Gap(c.Dir, c.Gap, proto.Meta{Frame: c.Frame})
				} else {
					p.Data(c.Dir, c.Data, proto.Meta{Frame: c.Frame})
				}
			}
			p.End(proto.Meta{})
		}
		for k, w := range want {
			total += w
			found += min(w, got[k])
			if got[k] < w {
				t.Logf("%s: missing CONNECT %s (got %v)", e.Name(), k, got)
			}
		}
		for tp := range truth.MQTT.Topics {
			topics++
			if gotTopics[tp] {
				topicsFound++
			} else {
				t.Logf("%s: missing topic %q", e.Name(), tp)
			}
		}
	}
	if total == 0 {
		t.Skip("no MQTT in the dev truth")
	}
	t.Logf("MQTT CONNECT recall: %d/%d; topics: %d/%d", found, total, topicsFound, topics)
	if found < total || topicsFound < topics {
		t.Errorf("recall below 100%%")
	}
}
