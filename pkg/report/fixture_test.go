package report

import (
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// at returns a capture time offset by sec seconds from the fixture start.
func at(sec float64) time.Time {
	return time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC).Add(time.Duration(sec * float64(time.Second)))
}

type dnsFields struct {
	QName   string   `json:"qname"`
	QType   string   `json:"qtype"`
	Answers []string `json:"answers,omitempty"`
}

type httpFields struct {
	Method    string `json:"method"`
	Host      string `json:"host"`
	URI       string `json:"uri"`
	UserAgent string `json:"user_agent,omitempty"`
}

type tlsFields struct {
	SNI     string   `json:"sni"`
	Version string   `json:"version"`
	ALPN    []string `json:"alpn,omitempty"`
}

// Destinations used by several devices' leaks and findings.
var (
	dTuyaAPI = audit.Dest{Name: "a1.tuyaeu.com", NameSource: "sni", Domain: "tuyaeu.com", IP: "3.121.7.8", Port: 443,
		Transport: "tcp", Country: "DE", CountryName: "Germany", RegisteredCountry: "US", ASN: 16509, ASOrg: "Amazon.com, Inc.",
		Vendor: "Tuya", Service: "Tuya IoT Cloud", Category: "iot-cloud", SignatureID: "tuya-cloud", Channel: "TLS1.2"}
	dCamLog = audit.Dest{Name: "log.ipcam-cloud.cn", NameSource: "http-host", Domain: "ipcam-cloud.cn", IP: "47.96.12.40",
		Port: 80, Transport: "tcp", Country: "CN", CountryName: "China", ASN: 37963,
		ASOrg: "Hangzhou Alibaba Advertising Co.,Ltd.", Vendor: "IPCam Cloud", Category: "telemetry",
		SignatureID: "ipcam-cloud", Channel: "HTTP"}
	dCamMQTT = audit.Dest{Name: "mq.ipcam-cloud.cn", NameSource: "dns", Domain: "ipcam-cloud.cn", IP: "47.96.12.41",
		Port: 1883, Transport: "tcp", Country: "CN", CountryName: "China", ASN: 37963,
		ASOrg: "Hangzhou Alibaba Advertising Co.,Ltd.", Vendor: "IPCam Cloud", Service: "MQTT broker",
		Category: "iot-cloud", SignatureID: "ipcam-cloud", Channel: "MQTT"}
	dNTP = audit.Dest{Name: "time.google.com", NameSource: "dns", Domain: "google.com", IP: "216.239.35.0", Port: 123,
		Transport: "udp", Country: "US", CountryName: "United States", ASN: 15169, ASOrg: "Google LLC",
		Vendor: "Google", Service: "Google Public NTP", Category: "infrastructure", Channel: "plaintext"}
	dDNS = audit.Dest{Name: "dns.google", NameSource: "ptr", Domain: "dns.google", IP: "8.8.8.8", Port: 53,
		Transport: "udp", Country: "US", CountryName: "United States", ASN: 15169, ASOrg: "Google LLC",
		Vendor: "Google", Service: "Google Public DNS", Category: "dns", Channel: "DNS"}
	dFirebase = audit.Dest{Name: "firebaselogging-pa.googleapis.com", NameSource: "quic-sni", Domain: "googleapis.com",
		IP: "142.250.74.106", Port: 443, Transport: "udp", Country: "US", CountryName: "United States", ASN: 15169,
		ASOrg: "Google LLC", Vendor: "Google", Service: "Firebase", Category: "analytics",
		SignatureID: "google-firebase", Channel: "QUIC"}
	dGraph = audit.Dest{Name: "graph.facebook.com", NameSource: "sni", Domain: "facebook.com", IP: "157.240.20.19",
		Port: 443, Transport: "tcp", Country: "IE", CountryName: "Ireland", ASN: 32934, ASOrg: "Facebook, Inc.",
		Vendor: "Meta", Service: "Facebook Graph API", Category: "advertising", SignatureID: "meta-graph",
		Channel: "TLS1.3"}
	dAdnet = audit.Dest{Name: "t.adnet-example.net", NameSource: "http-host", Domain: "adnet-example.net",
		IP: "198.51.100.7", Port: 80, Transport: "tcp", Country: "NL", CountryName: "Netherlands", ASN: 64500,
		ASOrg: "Example Adnet B.V.", Vendor: "Example Adnet", Category: "advertising", Channel: "HTTP"}
	dUnknown = audit.Dest{IP: "203.0.113.9", Port: 5228, Transport: "tcp", Country: "ZZ", CountryName: "documentation range",
		Channel: "encrypted-unknown"}
)

// dest makes a destination row with the facts the enrichment stage leaves
// for audit.Summarize: bytes up on a plaintext channel, and the vendor as a
// third party when it is an advertiser (the fixture's devices make none).
func dest(d audit.Dest, protos []string, flows int, up, down uint64, first, last float64, frame uint64) audit.Destination {
	x := audit.Destination{Dest: d, Protocols: protos, Flows: flows, PacketsUp: up / 200, PacketsDown: down / 400,
		BytesUp: up, BytesDown: down, FirstSeen: at(first), LastSeen: at(last), FirstFrame: frame}
	if audit.Channel(d.Channel).Plaintext() {
		x.PlaintextUp = up
	}
	if d.Category == "advertising" {
		x.ThirdParty = d.Vendor
	}
	return x
}

// fixture is a realistic three-device report: a Wi-Fi camera leaking over
// HTTP and MQTT, a phone talking to ad and analytics networks, and a quiet
// Raspberry Pi. Values are masked as the leak stage would mask them.
func fixture() *audit.Report {
	cet := time.FixedZone("CET", 3600)
	cam := audit.Device{
		ID: "mac:a4:cf:12:34:56:78", Name: "Living-room camera", NameSource: "devices-file", MAC: "a4:cf:12:34:56:78",
		Vendor: "Espressif Inc.", IPs: []string{"192.168.1.23"}, Hostnames: []string{"ipcam-5678"}, Model: "IPC-200",
		DHCP: &audit.DHCPInfo{Hostname: "ipcam-5678", VendorClass: "udhcp 1.30.1", Fingerprint: "1,3,6,12,15,28,42",
			RequestedIP: "192.168.1.23", AssignedIP: "192.168.1.23"},
		UserAgents: []string{"ipcam/2.1.7 (Linux; ARM)"},
		FirstSeen:  at(0.25).In(cet), LastSeen: at(1792.5),
		Destinations: []audit.Destination{
			dest(dTuyaAPI, []string{"tls"}, 12, 48213, 120344, 3.1, 1790, 41),
			dest(dCamLog, []string{"http"}, 4, 9120, 1024, 5.9, 1501, 57),
			dest(dCamMQTT, []string{"mqtt"}, 1, 6410, 880, 6.2, 1792, 60),
			dest(dNTP, []string{"ntp"}, 2, 180, 180, 1.0, 901, 7),
			dest(dDNS, []string{"dns"}, 9, 1322, 2740, 0.5, 1500, 3),
		},
		Leaks: []audit.Leak{
			{Severity: audit.Critical, Identifier: "location", Value: "48.85**,2.35**", Encoding: "gzip > json",
				Location: "body.json:$.loc", Dest: dCamLog, Frame: 231, Time: at(61.5), Count: 1},
			{Severity: audit.High, Identifier: "mac", Known: true, Value: "a4:cf:12:**:**:78", Encoding: "plain",
				Location: "url.query:mac", Dest: dCamLog, Frame: 57, Time: at(5.9), Count: 3},
			{Severity: audit.High, Identifier: "wifi_ssid", Value: "Hom****", Encoding: "base64 > plain",
				Location: "mqtt.publish:dev/5678/status", Dest: dCamMQTT, Frame: 64, Time: at(6.4), Count: 1},
			{Severity: audit.Medium, Identifier: "serial", Known: true, Value: "IPC2***6789", Encoding: "xor(0x5a) > plain",
				Location: "mqtt.connect:client_id", Dest: dCamMQTT, Frame: 60, Time: at(6.2), Count: 1},
		},
		Findings: []audit.Finding{
			{Severity: audit.High, Kind: "plaintext-credentials", Message: "MQTT CONNECT carries username and password in clear",
				Dest: dCamMQTT, Frame: 60, Time: at(6.2), Count: 3},
			{Severity: audit.Medium, Kind: "home-made-encryption", Message: "payload XOR-obfuscated with a one-byte key (0x5a)",
				Dest: dCamMQTT, Frame: 64, Time: at(6.4), Count: 1},
			{Severity: audit.Low, Kind: "plaintext-http", Message: "telemetry sent over HTTP without TLS",
				Dest: dCamLog, Frame: 57, Time: at(5.9), Count: 1},
		},
		Summary: audit.DeviceSummary{
			BytesUp: 65245, BytesDown: 125168,
			ByCountry: []audit.ByteShare{
				{Key: "DE", Label: "Germany", BytesUp: 48213, BytesDown: 120344, Flows: 12},
				{Key: "CN", Label: "China", BytesUp: 15530, BytesDown: 1904, Flows: 5},
				{Key: "US", Label: "United States", BytesUp: 1502, BytesDown: 2920, Flows: 11},
			},
			ByOwner: []audit.ByteShare{
				{Key: "AS16509", Label: "Amazon.com, Inc.", BytesUp: 48213, BytesDown: 120344, Flows: 12},
				{Key: "AS37963", Label: "Hangzhou Alibaba Advertising Co.,Ltd.", BytesUp: 15530, BytesDown: 1904, Flows: 5},
				{Key: "AS15169", Label: "Google LLC", BytesUp: 1502, BytesDown: 2920, Flows: 11},
			},
			ThirdParties:   []string{"Google", "Tuya"},
			PlaintextShare: 0.2615,
			WorstSeverity:  audit.Critical,
			WorstFinding:   "location leaked to log.ipcam-cloud.cn",
		},
	}
	phone := audit.Device{
		ID: "mac:3c:28:6d:aa:bb:cc", Name: "Pixel-7", NameSource: "mdns", MAC: "3c:28:6d:aa:bb:cc", Vendor: "Google, Inc.",
		IPs: []string{"192.168.1.42", "fe80::3e28:6dff:feaa:bbcc"}, Hostnames: []string{"Pixel-7.local"},
		DHCP:       &audit.DHCPInfo{Hostname: "Pixel-7", VendorClass: "android-dhcp-14", Fingerprint: "1,3,6,15,26,28,51,58,59,43,114,108"},
		UserAgents: []string{"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240205.004)", "okhttp/4.12.0"},
		FirstSeen:  at(2.0), LastSeen: at(1799.9),
		Destinations: []audit.Destination{
			dest(dFirebase, []string{"quic"}, 6, 31877, 14210, 12.3, 1700, 88),
			dest(dGraph, []string{"tls"}, 3, 12044, 60211, 14.0, 1200, 95),
			dest(dAdnet, []string{"http"}, 2, 4388, 1630, 20.7, 980, 140),
			dest(dUnknown, []string{"tcp"}, 1, 912, 3310, 30.0, 1799, 201),
			dest(dDNS, []string{"dns"}, 22, 2860, 5412, 2.1, 1600, 11),
		},
		Leaks: []audit.Leak{
			{Severity: audit.Critical, Identifier: "imei", Value: "35-209900-******-1", Encoding: "url > base64 > plain",
				Location: "url.query:d", Dest: dAdnet, Frame: 141, Time: at(20.8), Count: 2},
			{Severity: audit.High, Identifier: "advertising_id", Value: "3f2a****-****-****-****-********9c1e",
				Encoding: "url > plain", Location: "url.query:adid", Dest: dAdnet, Frame: 141, Time: at(20.8), Count: 2},
			{Severity: audit.Medium, Identifier: "email", Value: "j***@example.org", Encoding: "plain",
				Location: "header:Cookie", Dest: dAdnet, Frame: 143, Time: at(21.0), Count: 1},
			{Severity: audit.Low, Identifier: "hostname", Value: "Pixel-7", Encoding: "plain", Location: "dns.qname",
				Dest: dDNS, Frame: 11, Time: at(2.1), Count: 4},
		},
		Findings: []audit.Finding{
			{Severity: audit.Medium, Kind: "encrypted-unknown", Message: "encrypted traffic on a non-standard port with no TLS handshake",
				Dest: dUnknown, Frame: 201, Time: at(30.0), Count: 1},
			{Severity: audit.Info, Kind: "tracker-contact", Message: "contacts an advertising network", Dest: dGraph,
				Frame: 95, Time: at(14.0), Count: 1},
		},
		Summary: audit.DeviceSummary{
			BytesUp: 52081, BytesDown: 84773,
			ByCountry: []audit.ByteShare{
				{Key: "US", Label: "United States", BytesUp: 34737, BytesDown: 19622, Flows: 28},
				{Key: "IE", Label: "Ireland", BytesUp: 12044, BytesDown: 60211, Flows: 3},
				{Key: "NL", Label: "Netherlands", BytesUp: 4388, BytesDown: 1630, Flows: 2},
				{Key: "ZZ", Label: "documentation range", BytesUp: 912, BytesDown: 3310, Flows: 1},
			},
			ByOwner: []audit.ByteShare{
				{Key: "AS15169", Label: "Google LLC", BytesUp: 34737, BytesDown: 19622, Flows: 28},
				{Key: "AS32934", Label: "Facebook, Inc.", BytesUp: 12044, BytesDown: 60211, Flows: 3},
				{Key: "AS64500", Label: "Example Adnet B.V.", BytesUp: 4388, BytesDown: 1630, Flows: 2},
				{Key: "unknown", BytesUp: 912, BytesDown: 3310, Flows: 1},
			},
			ThirdParties:   []string{"Example Adnet", "Meta"},
			PlaintextShare: 0.1392,
			WorstSeverity:  audit.Critical,
			WorstFinding:   "imei leaked to t.adnet-example.net",
		},
	}
	pi := audit.Device{
		ID: "mac:dc:a6:32:01:02:03", Name: "Raspberry Pi Trading 01:02:03", NameSource: "oui", MAC: "dc:a6:32:01:02:03",
		Vendor: "Raspberry Pi Trading Ltd", IPs: []string{"192.168.1.50"}, FirstSeen: at(40), LastSeen: at(1740),
		Destinations: []audit.Destination{dest(dDNS, []string{"dns"}, 3, 240, 420, 40, 1740, 300)},
		Summary: audit.DeviceSummary{BytesUp: 240, BytesDown: 420,
			ByCountry:    []audit.ByteShare{{Key: "US", Label: "United States", BytesUp: 240, BytesDown: 420, Flows: 3}},
			ByOwner:      []audit.ByteShare{{Key: "AS15169", Label: "Google LLC", BytesUp: 240, BytesDown: 420, Flows: 3}},
			ThirdParties: []string{}, PlaintextShare: 1},
	}
	r := &audit.Report{
		SchemaVersion: audit.SchemaVersion,
		Tool:          audit.Tool{Name: "phonehome", Version: "0.9.0"},
		Inputs: []audit.Input{{Path: "lab-2026-03-14.pcapng", Format: "pcapng", LinkTypes: []string{"EN10MB"},
			Frames: 4812, Bytes: 2210934, First: at(0), Last: at(1800)}},
		Data: []audit.DataSet{
			{Kind: "geo-country", Source: "embedded: @ip-location-db/geo-whois-asn-country", Version: "2026-02-01", License: "CC0-1.0"},
			{Kind: "geo-asn", Source: "embedded: @ip-location-db/asn", Version: "2026-02-01", License: "CC-BY-4.0"},
			{Kind: "signatures", Source: "embedded", Version: "2026.02.1"},
			{Kind: "oui", Source: "embedded: IEEE MA-L", Version: "2026-01-20"},
		},
		Devices: []audit.Device{phone, cam, pi},
		Summary: audit.Summary{Devices: 3, Flows: 67, Frames: 4812, Leaks: 8, Findings: 5, Warnings: 2, WorstSeverity: audit.Critical},
		Warnings: []audit.Warning{
			{Code: "truncated-file", Message: "capture ends in the middle of a packet record", File: "lab-2026-03-14.pcapng", Offset: 2210934, Frame: 4812},
			{Code: "snaplen", Message: "frames cut by the capture snap length", Count: 14},
		},
		Flows: []audit.Flow{
			{ID: 1, Transport: "udp", Client: "192.168.1.23:50123", Server: "8.8.8.8:53", Device: cam.ID, PacketsUp: 1, PacketsDown: 1,
				BytesUp: 78, BytesDown: 94, PayloadUp: 36, PayloadDown: 52, FirstFrame: 3, First: at(0.5), Last: at(0.52),
				Protocol: "dns", Name: "dns.google", NameSource: "ptr", Channel: "DNS", State: "closed"},
			{ID: 2, Transport: "tcp", Client: "192.168.1.23:40112", Server: "3.121.7.8:443", Device: cam.ID, PacketsUp: 40, PacketsDown: 95,
				BytesUp: 4213, BytesDown: 120344, PayloadUp: 1500, PayloadDown: 110000, FirstFrame: 41, First: at(3.1), Last: at(60),
				Protocol: "tls", Name: "a1.tuyaeu.com", NameSource: "sni", Channel: "TLS1.2", State: "closed"},
			{ID: 3, Transport: "tcp", Client: "192.168.1.23:40118", Server: "47.96.12.40:80", Device: cam.ID, PacketsUp: 9, PacketsDown: 6,
				BytesUp: 2280, BytesDown: 256, PayloadUp: 1700, PayloadDown: 120, FirstFrame: 57, First: at(5.9), Last: at(6.1),
				Protocol: "http", Name: "log.ipcam-cloud.cn", NameSource: "http-host", Channel: "HTTP", State: "reset"},
			{ID: 4, Transport: "udp", Client: "192.168.1.42:51000", Server: "142.250.74.106:443", Device: phone.ID, PacketsUp: 30, PacketsDown: 22,
				BytesUp: 31877, BytesDown: 14210, PayloadUp: 30000, PayloadDown: 13000, FirstFrame: 88, First: at(12.3), Last: at(40),
				Protocol: "quic", Name: "firebaselogging-pa.googleapis.com", NameSource: "quic-sni", Channel: "QUIC", State: "timeout"},
			{ID: 5, Transport: "tcp", Client: "192.168.1.42:39001", Server: "198.51.100.7:80", Device: phone.ID, PacketsUp: 8, PacketsDown: 5,
				BytesUp: 2194, BytesDown: 815, PayloadUp: 1600, PayloadDown: 500, FirstFrame: 140, First: at(20.7), Last: at(21.2),
				Protocol: "http", Name: "t.adnet-example.net", NameSource: "http-host", Channel: "HTTP", State: "closed", GapBytes: 120},
		},
		Events: []audit.Event{
			{Type: "dns", Frame: 3, Time: at(0.5), FlowID: 1, Fields: dnsFields{QName: "a1.tuyaeu.com", QType: "A"}},
			{Type: "dns", Frame: 4, Time: at(0.52), FlowID: 1, Fields: dnsFields{QName: "a1.tuyaeu.com", QType: "A", Answers: []string{"3.121.7.8"}}},
			{Type: "tls", Frame: 43, Time: at(3.2), FlowID: 2, Fields: tlsFields{SNI: "a1.tuyaeu.com", Version: "TLS1.2", ALPN: []string{"http/1.1"}}},
			{Type: "http", Frame: 57, Time: at(5.9), FlowID: 3, Fields: httpFields{Method: "GET", Host: "log.ipcam-cloud.cn",
				URI: "/r?mac=a4:cf:12:**:**:78", UserAgent: "ipcam/2.1.7 (Linux; ARM)"}},
			{Type: "http", Frame: 141, Time: at(20.8), FlowID: 5, Fields: httpFields{Method: "GET", Host: "t.adnet-example.net",
				URI: "/px?d=***&adid=***", UserAgent: "okhttp/4.12.0"}},
		},
		Counters: map[string]uint64{"frames": 4812, "decode_errors.dns": 2, "bytes_skipped.body_cap": 18211, "flows": 67},
	}
	return r
}

// Hostile strings a capture can carry.
const (
	hostileScript = "<script>document.title='pwned'</script>"
	hostileESC    = "cam\x1b[2J\x1b]0;owned\x07era"
	hostileCSV    = "=cmd|' /C calc'!A0"
	hostilePipe   = "a|b`c`*d*[x](javascript:alert(1))"
	hostileBidi   = "evil\u202egnp.exe"
)

// hostileFixture puts hostile strings where captures put them: device names
// (DHCP), Host headers, leak values, vendor and messages.
func hostileFixture() *audit.Report {
	r := fixture()
	d := &r.Devices[0]
	d.Name = hostileESC
	d.UserAgents = append(d.UserAgents, "UA\r\nX-Injected: 1")
	d.Destinations[0].Name = hostileScript
	d.Destinations[1].Vendor = hostilePipe
	d.Destinations[1].Name = "+SUM(A1:A9)"
	d.Leaks[0].Value = hostileCSV
	d.Leaks[0].Dest.Name = hostileScript
	d.Leaks[1].Location = "header:" + hostilePipe
	d.Leaks[2].Value = "@SUM(1+1)\ttab"
	d.Findings[0].Message = "line one\nline two " + hostileBidi
	d.Findings[1].Message = "-2+3"
	r.Flows[0].Name = hostileScript
	r.Warnings[0].Message = hostileESC
	r.Events = append(r.Events, audit.Event{Type: "http", Frame: 9, Time: at(1), FlowID: 3,
		Fields: httpFields{Method: "GET", Host: hostileScript, URI: "/" + hostileCSV}})
	return r
}
