package geo

import (
	"net/netip"
	"testing"
)

// Sources of the cloud region table below. Each row names one; an address
// is a host inside a prefix the provider publishes for that region (the
// prefix is in the row's comment) or an address the provider's own
// documentation lists for the region.
const (
	srcAWS       = "AWS ip-ranges.json (https://ip-ranges.amazonaws.com/ip-ranges.json), prefix region"
	srcAWSMeta   = "Metabase Cloud IP allowlist, by AWS region (https://www.metabase.com/docs/latest/cloud/ip-addresses-to-whitelist)"
	srcGCP       = "Google Cloud cloud.json (https://www.gstatic.com/ipranges/cloud.json), prefix scope"
	srcGCPDS     = "Google Cloud Datastream IP allowlists and regions (https://cloud.google.com/datastream/docs/ip-allowlists-and-regions)"
	srcAzure     = "Azure Service Tags (ServiceTags_Public JSON), tag AzureCloud.germanywestcentral"
	srcAlibabaSL = "Alibaba Cloud Simple Log Service, IP address whitelists (https://www.alibabacloud.com/help/en/sls/user-guide/ip-address-whitelists)"
	srcAlibabaDW = "Alibaba Cloud DataWorks, network connectivity and IP whitelists, China regions (https://www.alibabacloud.com/help/en/dataworks/user-guide/configure-network-connectivity)"
)

// TestCloudRegions checks the located country of addresses whose server
// location the cloud provider publishes. It is the measure of the
// embedded geolocation data: at least 95% must be right, and every miss
// is listed. Providers whose per-region addresses we found no published
// source for (Tencent Cloud, Huawei Cloud, Alibaba Cloud outside China)
// are not in the table; see docs/geo.md.
func TestCloudRegions(t *testing.T) {
	r := embedded(t)
	tests := []struct {
		ip, want, where, src string
	}{
		{"13.228.0.10", "SG", "AWS ap-southeast-1 (13.228.0.0/15)", srcAWS},
		{"54.169.0.10", "SG", "AWS ap-southeast-1 (54.169.0.0/16)", srcAWS},
		{"2406:da18::10", "SG", "AWS ap-southeast-1 (2406:da18::/35)", srcAWS},
		{"54.179.42.215", "SG", "AWS ap-southeast-1", srcAWSMeta},
		{"3.120.0.10", "DE", "AWS eu-central-1 (3.120.0.0/14)", srcAWS},
		{"52.28.0.10", "DE", "AWS eu-central-1 (52.28.0.0/16)", srcAWS},
		{"18.184.0.10", "DE", "AWS eu-central-1 (18.184.0.0/15)", srcAWS},
		{"2a05:d014::10", "DE", "AWS eu-central-1 (2a05:d014::/35)", srcAWS},
		{"18.192.2.142", "DE", "AWS eu-central-1", srcAWSMeta},
		{"52.80.0.10", "CN", "AWS cn-north-1 (52.80.0.0/16)", srcAWS},
		{"54.222.128.10", "CN", "AWS cn-north-1 (54.222.128.0/17)", srcAWS},
		{"140.179.0.10", "CN", "AWS cn-north-1 (140.179.0.0/16)", srcAWS},
		{"2400:7fc0:8000::10", "CN", "AWS cn-north-1 (2400:7fc0:8000::/36)", srcAWS},
		{"13.232.0.10", "IN", "AWS ap-south-1 (13.232.0.0/14)", srcAWS},
		{"65.0.0.10", "IN", "AWS ap-south-1 (65.0.0.0/14)", srcAWS},
		{"52.66.0.10", "IN", "AWS ap-south-1 (52.66.0.0/16)", srcAWS},
		{"18.207.81.126", "US", "AWS us-east-1", srcAWSMeta},
		{"3.211.20.157", "US", "AWS us-east-1", srcAWSMeta},
		{"34.146.177.122", "JP", "GCP asia-northeast1 (Tokyo)", srcGCPDS},
		{"35.189.147.253", "JP", "GCP asia-northeast1 (Tokyo)", srcGCPDS},
		{"2600:1900:4050::10", "JP", "GCP asia-northeast1 (2600:1900:4050::/44)", srcGCP},
		{"34.93.10.146", "IN", "GCP asia-south1 (Mumbai)", srcGCPDS},
		{"35.200.143.183", "IN", "GCP asia-south1 (Mumbai)", srcGCPDS},
		{"34.87.56.130", "SG", "GCP asia-southeast1 (Singapore)", srcGCPDS},
		{"35.240.226.116", "SG", "GCP asia-southeast1 (Singapore)", srcGCPDS},
		{"2600:1900:4080::10", "SG", "GCP asia-southeast1 (2600:1900:4080::/44)", srcGCP},
		{"34.92.17.55", "HK", "GCP asia-east2 (Hong Kong)", srcGCPDS},
		{"35.229.225.152", "TW", "GCP asia-east1 (Taiwan)", srcGCPDS},
		{"34.64.142.111", "KR", "GCP asia-northeast3 (Seoul)", srcGCPDS},
		{"34.89.128.10", "DE", "GCP europe-west3 Frankfurt (34.89.128.0/17)", srcGCP},
		{"51.116.150.10", "DE", "Azure germanywestcentral (51.116.150.0/23)", srcAzure},
		{"51.116.159.10", "DE", "Azure germanywestcentral (51.116.159.0/24)", srcAzure},
		{"20.52.92.10", "DE", "Azure germanywestcentral (20.52.92.0/24)", srcAzure},
		{"114.55.8.190", "CN", "Alibaba Cloud cn-hangzhou", srcAlibabaSL},
		{"47.99.57.53", "CN", "Alibaba Cloud cn-hangzhou", srcAlibabaSL},
		{"101.133.151.144", "CN", "Alibaba Cloud cn-shanghai", srcAlibabaSL},
		{"47.102.141.56", "CN", "Alibaba Cloud cn-shanghai", srcAlibabaSL},
		{"59.110.6.146", "CN", "Alibaba Cloud cn-beijing", srcAlibabaSL},
		{"39.105.19.110", "CN", "Alibaba Cloud cn-beijing", srcAlibabaSL},
		{"47.93.61.189", "CN", "Alibaba Cloud cn-beijing", srcAlibabaSL},
		{"182.92.187.76", "CN", "Alibaba Cloud cn-beijing", srcAlibabaSL},
		{"39.107.223.10", "CN", "Alibaba Cloud China regions (39.107.223.0/26)", srcAlibabaDW},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d rows; the measure needs at least 40", len(tests))
	}
	right := 0
	for _, tc := range tests {
		in := r.Lookup(netip.MustParseAddr(tc.ip))
		if in.Country == tc.want {
			right++
			continue
		}
		t.Logf("miss: %s (%s, %s): located %q, registered %q", tc.ip, tc.where, tc.src, in.Country, in.Registered)
	}
	share := float64(right) / float64(len(tests))
	t.Logf("located country right for %d of %d published cloud-region addresses (%.1f%%)", right, len(tests), 100*share)
	if share < 0.95 {
		t.Errorf("located country right for %.1f%% of the table, want at least 95%%", 100*share)
	}
}

// TestLocatedVersusRegistered pins the cases that motivated the located
// country: a block registered in one country serving from another, and
// anycast networks.
func TestLocatedVersusRegistered(t *testing.T) {
	r := embedded(t)
	tests := []struct {
		ip, country, registered, anycast string
	}{
		// The README's example: Alibaba Cloud's Singapore region in a
		// block registered to Alibaba (US) Technology.
		{"47.241.18.20", "SG", "US", ""},
		{"1.1.1.1", Anycast, "AU", "Cloudflare"},
		{"8.8.8.8", Anycast, "US", "Google Public DNS"},
		{"2001:4860:4860::8888", Anycast, "US", "Google Public DNS"},
		{"9.9.9.9", Anycast, "US", "Quad9"},
		{"104.16.0.1", Anycast, "US", "Cloudflare"},
		{"::ffff:8.8.4.4", Anycast, "US", "Google Public DNS"},
	}
	for _, tc := range tests {
		in := r.Lookup(netip.MustParseAddr(tc.ip))
		if in.Country != tc.country || in.Registered != tc.registered || in.AnycastNet != tc.anycast {
			t.Errorf("%s: country %q registered %q anycast %q, want %q %q %q", tc.ip, in.Country, in.Registered, in.AnycastNet, tc.country, tc.registered, tc.anycast)
		}
		if want := tc.country != tc.registered; in.RegisteredElsewhere() != want {
			t.Errorf("%s: RegisteredElsewhere = %v", tc.ip, !want)
		}
	}
}
