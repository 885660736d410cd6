package report_test

import (
	"os"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/report"
)

func ExampleWrite() {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	r := &audit.Report{Devices: []audit.Device{{
		ID: "mac:a4:cf:12:34:56:78", Name: "camera",
		Leaks: []audit.Leak{{Severity: audit.High, Identifier: "mac", Value: "a4:cf:12:**:**:78",
			Encoding: "plain", Location: "url.query:mac", Frame: 57, Time: t0, Count: 1,
			Dest: audit.Dest{Name: "log.example.cn", IP: "192.0.2.7", Port: 80, Channel: "HTTP"}}},
	}}}
	r = report.Apply(r, report.Filter{MinSeverity: audit.Medium})
	if err := report.Write(os.Stdout, r, report.Options{Format: "csv", CSVTable: "leaks"}); err != nil {
		panic(err)
	}
	// Output:
	// device_id,device_name,severity,identifier,known,value,encoding,location,destination_name,destination_name_source,destination_domain,destination_ip,destination_port,destination_transport,destination_country,destination_country_name,destination_registered_country,destination_anycast,destination_asn,destination_as_org,destination_vendor,destination_service,destination_category,destination_signature_id,destination_channel,frame,time,count,input
	// mac:a4:cf:12:34:56:78,camera,high,mac,false,a4:cf:12:**:**:78,plain,url.query:mac,log.example.cn,,,192.0.2.7,80,,,,,,0,,,,,,HTTP,57,2026-03-14T09:00:00Z,1,
}
