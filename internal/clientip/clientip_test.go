package clientip_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthhq/berth/internal/clientip"
)

func resolve(t *testing.T, trusted, peer string, h map[string]string) (clientip.Info, string) {
	t.Helper()
	res, err := clientip.New(trusted)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = peer
	for k, v := range h {
		r.Header.Set(k, v)
	}
	var got clientip.Info
	var addr string
	res.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = clientip.From(r.Context())
		addr = r.RemoteAddr
	})).ServeHTTP(httptest.NewRecorder(), r)
	return got, addr
}

func TestResolve(t *testing.T) {
	xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
	for _, c := range []struct {
		name, trusted, peer string
		h                   map[string]string
		ip, addr            string
		https               bool
	}{
		{"no trusted proxies: headers ignored", "", "203.0.113.5:4000", map[string]string{"X-Forwarded-For": "198.51.100.1",
			"X-Forwarded-Proto": "https"}, "203.0.113.5", "203.0.113.5:4000", false},
		{"untrusted peer: headers ignored", "10.0.0.0/8", "203.0.113.5:4000", map[string]string{"X-Forwarded-For": "198.51.100.1",
			"X-Forwarded-Proto": "https"}, "203.0.113.5", "203.0.113.5:4000", false},
		{"trusted peer", "10.0.0.0/8", "10.1.2.3:4000", xff("198.51.100.1"), "198.51.100.1", "198.51.100.1:0", false},
		{"spoofed left-most entries ignored", "10.0.0.0/8", "10.1.2.3:4000", xff("1.2.3.4, 5.6.7.8, 198.51.100.1"),
			"198.51.100.1", "198.51.100.1:0", false},
		{"a chain of trusted proxies is skipped", "10.0.0.0/8, 192.0.2.9", "10.1.2.3:4000", xff("1.2.3.4, 198.51.100.1, 192.0.2.9, 10.9.9.9"),
			"198.51.100.1", "198.51.100.1:0", false},
		{"trusted peer without the header", "10.0.0.1", "10.0.0.1:4000", nil, "10.0.0.1", "10.0.0.1:4000", false},
		{"trusted peer says https", "10.0.0.1", "10.0.0.1:4000", map[string]string{"X-Forwarded-For": "198.51.100.1",
			"X-Forwarded-Proto": "http, https"}, "198.51.100.1", "198.51.100.1:0", true},
		{"IPv6 client", "::1", "[::1]:4000", xff("2001:db8::7"), "2001:db8::7", "[2001:db8::7]:0", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, addr := resolve(t, c.trusted, c.peer, c.h)
			if got.IP != c.ip || addr != c.addr || got.HTTPS != c.https || got.Peer != c.peer {
				t.Fatalf("got %+v, RemoteAddr %q; want IP %s, RemoteAddr %s, HTTPS %v", got, addr, c.ip, c.addr, c.https)
			}
		})
	}
}

func TestNewRefusesBadLists(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "fe80::1%eth0"} {
		if _, err := clientip.New(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                "192.0.2.1",
		"::ffff:192.0.2.1":         "192.0.2.1",
		"2001:db8:1:2:aaaa::1":     "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9%eth": "2001:db8:1:2::/64",
		"not an address":           "not an address",
	} {
		if got := clientip.Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}
