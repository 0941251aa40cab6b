package netguard

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	long := "https://hooks.example.com/" + strings.Repeat("a", MaxURLLength-len("https://hooks.example.com/"))
	cases := []struct {
		name    string
		url     string
		allow   []string
		wantErr string // substring of the error; "" means the URL is accepted
	}{
		{name: "public name", url: "https://hooks.example.com/path?q=1"},
		{name: "public name with port", url: "https://hooks.example.com:8443/x"},
		{name: "upper-case scheme and host", url: "HTTPS://Hooks.Example.COM/"},
		{name: "public IPv4", url: "https://8.8.8.8/hook"},
		{name: "public IPv6", url: "https://[2606:4700:4700::1111]:8443/hook"},
		{name: "trailing-dot name", url: "https://hooks.example.com./"},
		{name: "exactly 2048 characters", url: long},
		{name: "2049 characters", url: long + "b", wantErr: "at most 2048"},
		{name: "http", url: "http://hooks.example.com/", wantErr: "https"},
		{name: "ftp", url: "ftp://hooks.example.com/", wantErr: "https"},
		{name: "empty", url: "", wantErr: "absolute"},
		{name: "relative path", url: "/hooks", wantErr: "absolute"},
		{name: "scheme-less", url: "hooks.example.com/hook", wantErr: "absolute"},
		{name: "no host", url: "https:///hook", wantErr: "host"},
		{name: "opaque", url: "https:hooks.example.com", wantErr: "host"},
		{name: "user and password", url: "https://user:pw@hooks.example.com/", wantErr: "user information"},
		{name: "user only", url: "https://user@hooks.example.com/", wantErr: "user information"},
		{name: "fragment", url: "https://hooks.example.com/#frag", wantErr: "fragment"},
		{name: "empty fragment", url: "https://hooks.example.com/#", wantErr: "fragment"},
		{name: "control character", url: "https://hooks.example.com/\n", wantErr: "not a valid URL"},
		{name: "NUL", url: "https://hooks.example.com/a\x00b", wantErr: "not a valid URL"},
		{name: "invalid UTF-8 in the path", url: "https://hooks.example.com/\xff\xfe", wantErr: "not valid UTF-8"},
		{name: "invalid UTF-8 in the host", url: "https://hooks\xc3.example.com/", wantErr: "not valid UTF-8"},
		{name: "UTF-8 path", url: "https://hooks.example.com/caf\u00e9"},
		{name: "port zero", url: "https://hooks.example.com:0/", wantErr: "port"},
		{name: "port too large", url: "https://hooks.example.com:65536/", wantErr: "port"},
		{name: "empty label", url: "https://hooks..example.com/", wantErr: "empty label"},
		{name: "short IPv4 form", url: "https://127.1/", wantErr: "not a valid host"},
		{name: "decimal IPv4 form", url: "https://2130706433/", wantErr: "not a valid host"},
		{name: "hex IPv4 form", url: "https://0x7f.0.0.1/", wantErr: "not a valid host"},
		{name: "leading-zero IPv4", url: "https://127.000.000.001/", wantErr: "not a valid host"},
		{name: "loopback", url: "https://127.0.0.1/", wantErr: "blocked"},
		{name: "loopback with port", url: "https://127.0.0.1:8443/hook", wantErr: "127.0.0.0/8"},
		{name: "IPv6 loopback", url: "https://[::1]/", wantErr: "blocked"},
		{name: "IPv4-mapped loopback", url: "https://[::ffff:127.0.0.1]/", wantErr: "blocked"},
		{name: "NAT64 loopback", url: "https://[64:ff9b::7f00:1]/", wantErr: "blocked"},
		{name: "unspecified", url: "https://0.0.0.0/", wantErr: "blocked"},
		{name: "metadata service", url: "https://169.254.169.254/latest/", wantErr: "link-local"},
		{name: "private", url: "https://10.0.0.1/", wantErr: "private"},
		{name: "CGNAT", url: "https://100.64.0.1/", wantErr: "carrier-grade NAT"},
		{name: "broadcast", url: "https://255.255.255.255/", wantErr: "blocked"},
		{name: "ULA", url: "https://[fd00::1]/", wantErr: "unique-local"},
		{name: "link-local with zone", url: "https://[fe80::1%25eth0]/", wantErr: "link-local"},
		{name: "localhost", url: "https://localhost/", wantErr: "blocked"},
		{name: "localhost with port", url: "https://localhost:8080/", wantErr: "blocked"},
		{name: "sub.localhost", url: "https://api.localhost/", wantErr: "blocked"},
		{name: "LOCALHOST.", url: "https://LOCALHOST./", wantErr: "blocked"},
		{name: "not localhost", url: "https://localhost.example.com/"},
		{name: "loopback allowed", url: "https://127.0.0.1:8443/", allow: []string{"127.0.0.0/8"}},
		{name: "mapped loopback allowed", url: "https://[::ffff:127.0.0.1]/", allow: []string{"127.0.0.0/8"}},
		{name: "private allowed", url: "https://10.1.2.3/", allow: []string{"10.0.0.0/8"}},
		{name: "private outside allowed", url: "https://10.1.2.3/", allow: []string{"10.2.0.0/16"}, wantErr: "private"},
		{name: "localhost, IPv4 loopback allowed", url: "https://localhost/", allow: []string{"127.0.0.0/8"}},
		{name: "localhost, IPv6 loopback allowed", url: "https://api.localhost/", allow: []string{"::1/128"}},
		{name: "localhost, other range allowed", url: "https://localhost/", allow: []string{"10.0.0.0/8"}, wantErr: "blocked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := mustPolicy(t, tc.allow...).CheckURL(tc.url)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want accepted", tc.url, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckURL(%q) accepted, want an error containing %q", tc.url, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("CheckURL(%q) = %q, want it to contain %q", tc.url, err, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("CheckURL(%q) error does not match ErrInvalidURL", tc.url)
			}
		})
	}
}

// TestBlockedDestinationsSayHowToAllowThem: a refused destination on a
// private network must not look like a bug of hookd; the error names the
// flag that permits it. Other mistakes (no https, a fragment) do not.
func TestBlockedDestinationsSayHowToAllowThem(t *testing.T) {
	p := mustPolicy(t)
	for _, u := range []string{"https://127.0.0.1/", "https://10.1.2.3/", "https://[::1]/", "https://localhost/", "https://[64:ff9b::7f00:1]/"} {
		if err := p.CheckURL(u); err == nil || !strings.Contains(err.Error(), "--allow-cidr") {
			t.Errorf("CheckURL(%q) = %v, want it to mention --allow-cidr", u, err)
		}
	}
	for _, u := range []string{"http://hooks.example.com/", "https://hooks.example.com/#x"} {
		if err := p.CheckURL(u); err == nil || strings.Contains(err.Error(), "--allow-cidr") {
			t.Errorf("CheckURL(%q) = %v, want an error without the --allow-cidr hint", u, err)
		}
	}
}
