package hostname

import (
	"strings"
	"testing"
)

func TestDotted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mx.example.net", "mx.example.net"},
		{"Mail.Example.NET.", "mail.example.net"},
		{"smtp-1.mail_x.example.com", "smtp-1.mail_x.example.com"},
		{"ESMTP", ""},
		{"[10.0.0.5]", ""},
		{"10.0.0.5", ""},
		{"localhost.localdomain", ""},
		{"localhost", ""},
		{"cam-7f3a.local", ""},
		{"a..b", ""},
		{"-a.b", ""},
		{"a.b-", ""},
		{"x.", ""},
		{"héllo.example", ""},
	} {
		if got := Dotted(tc.in); got != tc.want {
			t.Errorf("Dotted(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"cam-7f3a", "cam-7f3a"},
		{"CAM.local", "cam.local"},
		{"[172.16.16.225]", ""},
		{"localhost", ""},
		{"", ""},
	} {
		if got := Device(tc.in); got != tc.want {
			t.Errorf("Device(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := FirstWord(" ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready."); got != "ftp.netbsd.org" {
		t.Errorf("FirstWord = %q", got)
	}
}

func FuzzDotted(f *testing.F) {
	for _, s := range []string{"mx.example.net", "[10.0.0.5]", "localhost.localdomain", "a..b", "cam-7f3a", "x.local"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := Dotted(s)
		if d != "" && (Device(s) != d || !strings.Contains(d, ".") || strings.ToLower(d) != d) {
			t.Fatalf("Dotted(%q) = %q, Device %q", s, d, Device(s))
		}
		if v := Device(s); v != "" && Device(v) != v {
			t.Fatalf("Device not idempotent: %q -> %q -> %q", s, v, Device(v))
		}
	})
}
