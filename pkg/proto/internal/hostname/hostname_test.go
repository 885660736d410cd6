package hostname

import "testing"

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
