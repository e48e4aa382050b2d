package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"", "external", ""},
		{" , ", "external", ""},
		{"external", "external", ""},
		{"External, LOOPBACK", "external,loopback", ""},
		{"private,10.1.2.0/24,192.0.2.7,::1", "private,10.1.2.0/24,192.0.2.7,::1", ""},
		{"10.1.2.3/24", "10.1.2.0/24", ""},
		{"::ffff:10.0.0.1", "10.0.0.1", ""},
		{"scim.example.com., *.hooks.example.com", "scim.example.com,*.hooks.example.com", ""},
		{"*", "*", ""},
		{"10.0.0.0/33", "", "not a CIDR"},
		{"exte rnal", "", "is not one of"},
		{"http://example.com", "", "not a CIDR"},
		{"a..b", "", "is not one of"},
		{"example.com:443", "", "is not one of"},
	} {
		p, err := Parse(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), Setting) {
				t.Errorf("Parse(%q) = %v, %v; want an error containing %q", c.in, p, err, c.err)
			}
			continue
		}
		if err != nil || p.String() != c.want {
			t.Errorf("Parse(%q) = %v, %v; want %q", c.in, p, err, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		addr string
		want Class
	}{
		{"8.8.8.8", ClassExternal},
		{"1.1.1.1", ClassExternal},
		{"2606:4700::1111", ClassExternal},
		{"::ffff:8.8.8.8", ClassExternal},
		{"64:ff9b::808:808", ClassExternal}, // NAT64 of 8.8.8.8
		{"127.0.0.1", ClassLoopback},
		{"127.9.9.9", ClassLoopback},
		{"::1", ClassLoopback},
		{"::ffff:127.0.0.1", ClassLoopback},
		{"10.0.0.1", ClassPrivate},
		{"172.16.5.4", ClassPrivate},
		{"172.31.255.255", ClassPrivate},
		{"192.168.1.1", ClassPrivate},
		{"100.64.0.1", ClassPrivate},
		{"fd00::1", ClassPrivate},
		{"fc00::1", ClassPrivate},
		{"169.254.169.254", ClassOther}, // cloud metadata
		{"::ffff:169.254.169.254", ClassOther},
		{"64:ff9b::a9fe:a9fe", ClassOther}, // NAT64 of 169.254.169.254
		{"fe80::1", ClassOther},
		{"fd00:ec2::254", ClassOther},   // AWS metadata over IPv6
		{"fd00:ec2::253", ClassPrivate}, // (a ULA like any other)
		{"100.100.100.200", ClassOther}, // Alibaba Cloud metadata
		{"100.100.100.201", ClassPrivate},
		{"0.0.0.0", ClassOther},
		{"0.1.2.3", ClassOther},
		{"::", ClassOther},
		{"224.0.0.1", ClassOther},
		{"255.255.255.255", ClassOther},
		{"240.0.0.1", ClassOther},
		{"192.0.2.1", ClassOther},
		{"198.18.0.1", ClassOther},
		{"2001:db8::1", ClassOther},
		{"ff02::1", ClassOther},
		{"172.32.0.1", ClassExternal},
	} {
		if got := Classify(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Classify(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
}

func TestAllows(t *testing.T) {
	for _, c := range []struct {
		policy string
		addr   string
		want   bool
	}{
		{"", "8.8.8.8", true},
		{"", "127.0.0.1", false},
		{"", "::1", false},
		{"", "10.0.0.1", false},
		{"", "169.254.169.254", false},
		{"", "::ffff:169.254.169.254", false},
		{"external", "0.0.0.0", false},
		{"loopback", "127.0.0.1", true},
		{"loopback", "::ffff:127.0.0.1", true},
		{"loopback", "8.8.8.8", false},
		{"loopback", "10.0.0.1", false},
		{"private", "10.0.0.1", true},
		{"private", "fd12::1", true},
		{"private", "169.254.169.254", false},
		{"private", "fd00:ec2::254", false},
		{"private", "127.0.0.1", false},
		{"external,loopback,private", "169.254.169.254", false},
		{"169.254.169.254", "169.254.169.254", true},
		{"169.254.0.0/16", "169.254.1.1", true},
		{"10.1.0.0/16", "10.1.200.3", true},
		{"10.1.0.0/16", "10.2.0.1", false},
		{"10.1.0.0/16", "8.8.8.8", false},
		{"*", "169.254.169.254", true},
		{"*", "127.0.0.1", true},
		{"scim.example.com", "127.0.0.1", false}, // names match names only
		{"scim.example.com", "8.8.8.8", false},
	} {
		p := MustParse(c.policy)
		if got := p.AllowsAddr(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("%q allows %s = %v, want %v", c.policy, c.addr, got, c.want)
		}
	}
}

func TestAllowsName(t *testing.T) {
	p := MustParse("scim.example.com, *.hooks.example.net, loopback")
	for host, want := range map[string]bool{
		"scim.example.com":        true,
		"SCIM.Example.COM.":       true,
		"a.scim.example.com":      false,
		"x.hooks.example.net":     true,
		"a.b.hooks.example.net":   true,
		"hooks.example.net":       false,
		"evilhooks.example.net":   false,
		"localhost":               false, // loopback is an address category
		"127.0.0.1":               false,
		"":                        false,
		"scim.example.com.evil.x": false,
	} {
		if got := p.AllowsName(host); got != want {
			t.Errorf("AllowsName(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestDialContext connects to a real server on 127.0.0.1: refused under the
// default, also when asked by a name that resolves to it (the check is on
// the address connected to), allowed with loopback or by the name.
func TestDialContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx := context.Background()
	for _, c := range []struct {
		policy, host string
		ok           bool
	}{
		{"", "127.0.0.1", false},
		{"", "localhost", false},
		{"external,private", "localhost", false},
		{"loopback", "127.0.0.1", true},
		{"loopback", "localhost", true},
		{"127.0.0.0/8", "localhost", true},
		{"localhost", "localhost", true},
		{"localhost", "127.0.0.1", false},
		{"*", "127.0.0.1", true},
	} {
		conn, err := MustParse(c.policy).DialContext(ctx, "tcp", net.JoinHostPort(c.host, port))
		if c.ok {
			if err != nil {
				t.Errorf("policy %q, %s: %v", c.policy, c.host, err)
				continue
			}
			conn.Close()
			continue
		}
		if err == nil {
			conn.Close()
			t.Errorf("policy %q connected to %s", c.policy, c.host)
			continue
		}
		re := Refused(err)
		if re == nil {
			t.Errorf("policy %q, %s: %v is not a refusal", c.policy, c.host, err)
			continue
		}
		if !re.Addr.IsLoopback() || !strings.Contains(err.Error(), "is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: ") {
			t.Errorf("policy %q, %s: %v", c.policy, c.host, err)
		}
	}
}

func TestDialMetadataRefused(t *testing.T) {
	// 169.254.169.254 is refused before any packet leaves: the check runs
	// before connect(2), so this does not wait for a timeout.
	_, err := Default().DialContext(context.Background(), "tcp", "169.254.169.254:80")
	re := Refused(err)
	if re == nil || re.Addr.String() != "169.254.169.254" {
		t.Fatalf("dial metadata: %v", err)
	}
	want := "provider address 169.254.169.254 is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: external)"
	if re.Error() != want {
		t.Fatalf("message %q, want %q", re.Error(), want)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Fatalf("%T is not a *net.OpError", err)
	}
}

func TestContext(t *testing.T) {
	if FromContext(context.Background()) != Default() {
		t.Fatal("no policy in the context must be the default")
	}
	p := MustParse("loopback")
	if FromContext(NewContext(context.Background(), p)) != p {
		t.Fatal("policy not carried by the context")
	}
}
