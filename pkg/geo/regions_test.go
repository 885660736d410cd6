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
	// The Chinese edition of the Simple Log Service page lists the
	// regions outside mainland China too (公网IP地址白名单 per 地域).
	srcAlibabaSLZh = "Alibaba Cloud Simple Log Service, IP地址白名单 (https://help.aliyun.com/document_detail/421534.htm), Internet addresses per region"
	// Tencent Cloud's documentation source, published by Tencent on GitHub
	// as tencentyun/qcloud-documents (commit 1844d6a5c3e4), file
	// product/数据库/数据传输服务DTS/准备工作/添加 DTS 的 IP 地址到数据库的白名单.md,
	// table "DTS 服务的 IP 地址", section 公网接入 (Internet access).
	srcTencentDTS = "Tencent Cloud DTS, 添加 DTS 的 IP 地址到数据库的白名单, DTS 服务的 IP 地址 per region (https://cloud.tencent.com/document/product/571; tencentyun/qcloud-documents)"
	// Yandex Cloud's documentation source on GitHub, yandex-cloud/docs:
	// en/vpc/concepts/ips.md (commit 02cce5ed3ae1, 11 IPv4 ranges) and the
	// current en/_includes/vpc/public-ip-list.md, which still holds all 11.
	// The rows use those 11 only; the page does not split ranges by region,
	// and en/overview/concepts/region.md names the Russia region
	// (ru-central1) beside a separately documented Kazakhstan region (kz1).
	srcYandex = "Yandex Cloud, Public IP address ranges (https://yandex.cloud/en/docs/vpc/concepts/ips), Russia region ru-central1"
)

// Clouds in the region table.
const (
	aws     = "AWS"
	gcp     = "Google Cloud"
	azure   = "Azure"
	alibaba = "Alibaba Cloud"
	tencent = "Tencent Cloud"
	yandex  = "Yandex Cloud"
)

// vendorClouds are the cloud and country pairs behind the cases in
// shared/docs/context.md: servers in Singapore and Russia on a large
// Chinese cloud provider, and servers in Beijing. Every row of the table
// for one of them must be right, not only 95% of the table. Huawei Cloud
// would belong here too; no published per-region address for it was found
// (docs/geo.md).
var vendorClouds = []struct{ cloud, country string }{
	{alibaba, "SG"},
	{alibaba, "CN"},
	{tencent, "SG"},
	{tencent, "RU"},
	{tencent, "CN"},
	{yandex, "RU"},
}

// cloudRegions is the table: addresses whose server location the cloud
// provider publishes. From Tencent's DTS table every Internet address of
// the regions outside mainland China is used, and the first address of
// each mainland region, except those in notLocated.
var cloudRegions = []struct {
	ip, want, cloud, where, src string
}{
	{"13.228.0.10", "SG", aws, "AWS ap-southeast-1 (13.228.0.0/15)", srcAWS},
	{"54.169.0.10", "SG", aws, "AWS ap-southeast-1 (54.169.0.0/16)", srcAWS},
	{"2406:da18::10", "SG", aws, "AWS ap-southeast-1 (2406:da18::/35)", srcAWS},
	{"54.179.42.215", "SG", aws, "AWS ap-southeast-1", srcAWSMeta},
	{"3.120.0.10", "DE", aws, "AWS eu-central-1 (3.120.0.0/14)", srcAWS},
	{"52.28.0.10", "DE", aws, "AWS eu-central-1 (52.28.0.0/16)", srcAWS},
	{"18.184.0.10", "DE", aws, "AWS eu-central-1 (18.184.0.0/15)", srcAWS},
	{"2a05:d014::10", "DE", aws, "AWS eu-central-1 (2a05:d014::/35)", srcAWS},
	{"18.192.2.142", "DE", aws, "AWS eu-central-1", srcAWSMeta},
	{"52.80.0.10", "CN", aws, "AWS cn-north-1 (52.80.0.0/16)", srcAWS},
	{"54.222.128.10", "CN", aws, "AWS cn-north-1 (54.222.128.0/17)", srcAWS},
	{"140.179.0.10", "CN", aws, "AWS cn-north-1 (140.179.0.0/16)", srcAWS},
	{"2400:7fc0:8000::10", "CN", aws, "AWS cn-north-1 (2400:7fc0:8000::/36)", srcAWS},
	{"13.232.0.10", "IN", aws, "AWS ap-south-1 (13.232.0.0/14)", srcAWS},
	{"65.0.0.10", "IN", aws, "AWS ap-south-1 (65.0.0.0/14)", srcAWS},
	{"52.66.0.10", "IN", aws, "AWS ap-south-1 (52.66.0.0/16)", srcAWS},
	{"18.207.81.126", "US", aws, "AWS us-east-1", srcAWSMeta},
	{"3.211.20.157", "US", aws, "AWS us-east-1", srcAWSMeta},
	{"34.146.177.122", "JP", gcp, "GCP asia-northeast1 (Tokyo)", srcGCPDS},
	{"35.189.147.253", "JP", gcp, "GCP asia-northeast1 (Tokyo)", srcGCPDS},
	{"2600:1900:4050::10", "JP", gcp, "GCP asia-northeast1 (2600:1900:4050::/44)", srcGCP},
	{"34.93.10.146", "IN", gcp, "GCP asia-south1 (Mumbai)", srcGCPDS},
	{"35.200.143.183", "IN", gcp, "GCP asia-south1 (Mumbai)", srcGCPDS},
	{"34.87.56.130", "SG", gcp, "GCP asia-southeast1 (Singapore)", srcGCPDS},
	{"35.240.226.116", "SG", gcp, "GCP asia-southeast1 (Singapore)", srcGCPDS},
	{"2600:1900:4080::10", "SG", gcp, "GCP asia-southeast1 (2600:1900:4080::/44)", srcGCP},
	{"34.92.17.55", "HK", gcp, "GCP asia-east2 (Hong Kong)", srcGCPDS},
	{"35.229.225.152", "TW", gcp, "GCP asia-east1 (Taiwan)", srcGCPDS},
	{"34.64.142.111", "KR", gcp, "GCP asia-northeast3 (Seoul)", srcGCPDS},
	{"34.89.128.10", "DE", gcp, "GCP europe-west3 Frankfurt (34.89.128.0/17)", srcGCP},
	{"51.116.150.10", "DE", azure, "Azure germanywestcentral (51.116.150.0/23)", srcAzure},
	{"51.116.159.10", "DE", azure, "Azure germanywestcentral (51.116.159.0/24)", srcAzure},
	{"20.52.92.10", "DE", azure, "Azure germanywestcentral (20.52.92.0/24)", srcAzure},
	{"114.55.8.190", "CN", alibaba, "Alibaba Cloud cn-hangzhou", srcAlibabaSL},
	{"47.99.57.53", "CN", alibaba, "Alibaba Cloud cn-hangzhou", srcAlibabaSL},
	{"101.133.151.144", "CN", alibaba, "Alibaba Cloud cn-shanghai", srcAlibabaSL},
	{"47.102.141.56", "CN", alibaba, "Alibaba Cloud cn-shanghai", srcAlibabaSL},
	{"59.110.6.146", "CN", alibaba, "Alibaba Cloud cn-beijing", srcAlibabaSL},
	{"39.105.19.110", "CN", alibaba, "Alibaba Cloud cn-beijing", srcAlibabaSL},
	{"47.93.61.189", "CN", alibaba, "Alibaba Cloud cn-beijing", srcAlibabaSL},
	{"182.92.187.76", "CN", alibaba, "Alibaba Cloud cn-beijing", srcAlibabaSL},
	{"39.107.223.10", "CN", alibaba, "Alibaba Cloud China regions (39.107.223.0/26)", srcAlibabaDW},
	{"47.241.44.82", "SG", alibaba, "Alibaba Cloud ap-southeast-1 (新加坡)", srcAlibabaSLZh},
	{"47.88.153.120", "SG", alibaba, "Alibaba Cloud ap-southeast-1 (新加坡)", srcAlibabaSLZh},
	{"8.210.69.249", "HK", alibaba, "Alibaba Cloud cn-hongkong (中国(香港))", srcAlibabaSLZh},
	{"47.52.240.106", "HK", alibaba, "Alibaba Cloud cn-hongkong (中国(香港))", srcAlibabaSLZh},
	{"8.213.130.255", "KR", alibaba, "Alibaba Cloud ap-northeast-2 (韩国(首尔))", srcAlibabaSLZh},
	{"47.74.56.187", "JP", alibaba, "Alibaba Cloud ap-northeast-1 (日本(东京))", srcAlibabaSLZh},
	{"119.28.103.40", "SG", tencent, "Tencent Cloud ap-singapore (新加坡)", srcTencentDTS},
	{"119.28.104.184", "SG", tencent, "Tencent Cloud ap-singapore (新加坡)", srcTencentDTS},
	{"119.28.116.123", "SG", tencent, "Tencent Cloud ap-singapore (新加坡)", srcTencentDTS},
	{"150.109.11.113", "SG", tencent, "Tencent Cloud ap-singapore (新加坡)", srcTencentDTS},
	{"162.62.16.46", "RU", tencent, "Tencent Cloud eu-moscow (莫斯科)", srcTencentDTS},
	{"162.62.21.243", "RU", tencent, "Tencent Cloud eu-moscow (莫斯科)", srcTencentDTS},
	{"49.51.132.38", "DE", tencent, "Tencent Cloud eu-frankfurt (法兰克福)", srcTencentDTS},
	{"49.51.133.85", "DE", tencent, "Tencent Cloud eu-frankfurt (法兰克福)", srcTencentDTS},
	{"43.129.33.41", "ID", tencent, "Tencent Cloud ap-jakarta (雅加达)", srcTencentDTS},
	{"43.129.35.144", "ID", tencent, "Tencent Cloud ap-jakarta (雅加达)", srcTencentDTS},
	{"150.109.164.203", "TH", tencent, "Tencent Cloud ap-bangkok (曼谷)", srcTencentDTS},
	{"150.109.164.82", "TH", tencent, "Tencent Cloud ap-bangkok (曼谷)", srcTencentDTS},
	{"119.28.246.130", "IN", tencent, "Tencent Cloud ap-mumbai (孟买)", srcTencentDTS},
	{"119.28.246.18", "IN", tencent, "Tencent Cloud ap-mumbai (孟买)", srcTencentDTS},
	{"119.28.150.71", "KR", tencent, "Tencent Cloud ap-seoul (首尔)", srcTencentDTS},
	{"119.28.157.173", "KR", tencent, "Tencent Cloud ap-seoul (首尔)", srcTencentDTS},
	{"150.109.195.201", "JP", tencent, "Tencent Cloud ap-tokyo (东京)", srcTencentDTS},
	{"150.109.196.137", "JP", tencent, "Tencent Cloud ap-tokyo (东京)", srcTencentDTS},
	{"49.51.38.216", "US", tencent, "Tencent Cloud na-siliconvalley (硅谷)", srcTencentDTS},
	{"49.51.39.189", "US", tencent, "Tencent Cloud na-siliconvalley (硅谷)", srcTencentDTS},
	{"170.106.2.63", "US", tencent, "Tencent Cloud na-ashburn (弗吉尼亚)", srcTencentDTS},
	{"49.51.85.120", "US", tencent, "Tencent Cloud na-ashburn (弗吉尼亚)", srcTencentDTS},
	{"49.51.10.104", "CA", tencent, "Tencent Cloud na-toronto (多伦多)", srcTencentDTS},
	{"49.51.9.221", "CA", tencent, "Tencent Cloud na-toronto (多伦多)", srcTencentDTS},
	{"124.156.168.151", "HK", tencent, "Tencent Cloud ap-hongkong (香港)", srcTencentDTS},
	{"150.109.72.54", "HK", tencent, "Tencent Cloud ap-hongkong (香港)", srcTencentDTS},
	{"111.230.198.143", "CN", tencent, "Tencent Cloud ap-guangzhou (广州)", srcTencentDTS},
	{"111.231.139.59", "CN", tencent, "Tencent Cloud ap-shanghai (上海)", srcTencentDTS},
	{"123.207.145.84", "CN", tencent, "Tencent Cloud ap-beijing (北京)", srcTencentDTS},
	{"111.231.225.99", "CN", tencent, "Tencent Cloud ap-chengdu (成都)", srcTencentDTS},
	{"139.186.122.1", "CN", tencent, "Tencent Cloud ap-chongqing (重庆, 139.186.122.1/24)", srcTencentDTS},
	{"129.211.166.117", "CN", tencent, "Tencent Cloud ap-nanjing (南京)", srcTencentDTS},
	{"154.8.246.150", "CN", tencent, "Tencent Cloud ap-tianjin (天津)", srcTencentDTS},
	{"118.126.124.6", "CN", tencent, "Tencent Cloud ap-shenzhen (深圳)", srcTencentDTS},
	{"31.44.8.10", "RU", yandex, "Yandex Cloud ru-central1 (31.44.8.0/21)", srcYandex},
	{"51.250.0.10", "RU", yandex, "Yandex Cloud ru-central1 (51.250.0.0/17)", srcYandex},
	{"62.84.112.10", "RU", yandex, "Yandex Cloud ru-central1 (62.84.112.0/20)", srcYandex},
	{"84.201.128.10", "RU", yandex, "Yandex Cloud ru-central1 (84.201.128.0/18)", srcYandex},
	{"84.252.128.10", "RU", yandex, "Yandex Cloud ru-central1 (84.252.128.0/20)", srcYandex},
	{"130.193.32.10", "RU", yandex, "Yandex Cloud ru-central1 (130.193.32.0/19)", srcYandex},
	{"178.154.192.10", "RU", yandex, "Yandex Cloud ru-central1 (178.154.192.0/18)", srcYandex},
	{"178.170.222.10", "RU", yandex, "Yandex Cloud ru-central1 (178.170.222.0/24)", srcYandex},
	{"185.206.164.10", "RU", yandex, "Yandex Cloud ru-central1 (185.206.164.0/22)", srcYandex},
	{"193.32.216.10", "RU", yandex, "Yandex Cloud ru-central1 (193.32.216.0/22)", srcYandex},
	{"217.28.224.10", "RU", yandex, "Yandex Cloud ru-central1 (217.28.224.0/20)", srcYandex},
}

// notLocated are addresses a source lists for a region that the source
// itself or the routing data shows are not in that region, so they say
// nothing about the located country. The same Tencent table lists the
// Shanghai addresses for Hangzhou EC as well: its addresses are those the
// service uses for a region, not always addresses in it.
var notLocated = []struct {
	ip, listedFor string
	asn           uint32
	why           string
}{
	{"119.29.180.130", "Tencent Cloud ap-hongkong", 45090, "Tencent's mainland China network"},
	{"119.29.208.220", "Tencent Cloud ap-hongkong", 45090, "Tencent's mainland China network"},
	{"45.113.70.156", "Tencent Cloud na-toronto", 134103, "another operator's network, registered HK"},
	{"45.113.70.6", "Tencent Cloud na-toronto", 134103, "another operator's network, registered HK"},
}

// TestCloudRegions checks the located country of addresses whose server
// location the cloud provider publishes. It is the measure of the
// embedded geolocation data: at least 95% must be right, every row of a
// vendor cloud behind the cases must be right, and every miss is listed.
// The registration country is measured beside it, and must not do better.
func TestCloudRegions(t *testing.T) {
	r := embedded(t)
	if len(cloudRegions) < 40 {
		t.Fatalf("only %d rows; the measure needs at least 40", len(cloudRegions))
	}
	right, registered := 0, 0
	for _, tc := range cloudRegions {
		in := r.Lookup(netip.MustParseAddr(tc.ip))
		if in.Registered == tc.want {
			registered++
		}
		if in.Country == tc.want {
			right++
			continue
		}
		t.Logf("miss: %s (%s, %s): located %q, registered %q", tc.ip, tc.where, tc.src, in.Country, in.Registered)
	}
	n := float64(len(cloudRegions))
	t.Logf("located country right for %d of %d published cloud-region addresses (%.1f%%); registration country right for %d (%.1f%%)",
		right, len(cloudRegions), 100*float64(right)/n, registered, 100*float64(registered)/n)
	if share := float64(right) / n; share < 0.95 {
		t.Errorf("located country right for %.1f%% of the table, want at least 95%%", 100*share)
	}
	if registered > right {
		t.Errorf("the registration country is right more often (%d) than the located country (%d)", registered, right)
	}
	for _, tc := range notLocated {
		in := r.Lookup(netip.MustParseAddr(tc.ip))
		if in.ASN != tc.asn {
			t.Errorf("%s: AS%d, the reason it is not counted was AS%d (%s); look at the row again", tc.ip, in.ASN, tc.asn, tc.why)
		}
		t.Logf("not counted: %s, listed for %s but in AS%d, %s: located %q, registered %q", tc.ip, tc.listedFor, tc.asn, tc.why, in.Country, in.Registered)
	}
}

// TestVendorClouds requires every vendor cloud of vendorClouds to be in
// the region table, and each of its rows to be right.
func TestVendorClouds(t *testing.T) {
	r := embedded(t)
	for _, vc := range vendorClouds {
		rows := 0
		for _, tc := range cloudRegions {
			if tc.cloud != vc.cloud || tc.want != vc.country {
				continue
			}
			rows++
			if got := r.Lookup(netip.MustParseAddr(tc.ip)).Country; got != tc.want {
				t.Errorf("%s %s: %s (%s) located %q", vc.cloud, vc.country, tc.ip, tc.where, got)
			}
		}
		if rows == 0 {
			t.Errorf("%s %s: no row in the region table", vc.cloud, vc.country)
		}
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
