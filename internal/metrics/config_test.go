package metrics

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseNets(t *testing.T) {
	got, err := ParseNets(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::ffff:198.51.100.1, 172.16.5.4/12")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "198.51.100.1/32", "172.16.0.0/12"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("net %d = %s, want %s", i, got[i], want[i])
		}
	}
	if n, err := ParseNets(""); err != nil || n != nil {
		t.Errorf(`ParseNets("") = %v, %v; want nil (the default)`, n, err)
	}
	if n, err := ParseNets("none"); err != nil || n == nil || len(n) != 0 {
		t.Errorf(`ParseNets("none") = %v, %v; want an empty list`, n, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0.0/8;1.2.3.4"} {
		if _, err := ParseNets(bad); err == nil {
			t.Errorf("ParseNets(%q) accepted", bad)
		}
	}
}

func TestPermit(t *testing.T) {
	const token = "metrics-token-0123456789"
	def := Config{}
	withToken := Config{Token: token}
	private := Config{AllowedNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Token: token}
	none := Config{AllowedNets: []netip.Prefix{}, Token: token}
	for _, tc := range []struct {
		name   string
		cfg    Config
		ip     string
		authz  string
		ok     bool
		detail string // in the refusal
	}{
		{"loopback v4 by default", def, "127.0.0.1", "", true, ""},
		{"loopback 127/8 by default", def, "127.3.4.5", "", true, ""},
		{"loopback v6 by default", def, "::1", "", true, ""},
		{"v4-mapped loopback", def, "::ffff:127.0.0.1", "", true, ""},
		{"a stranger by default", def, "203.0.113.9", "", false, "came from 203.0.113.9"},
		{"a stranger with a token when none is set", def, "203.0.113.9", "Bearer " + token, false, "no BERTH_METRICS_TOKEN is set"},
		{"a stranger with the token", withToken, "203.0.113.9", "Bearer " + token, true, ""},
		{"scheme case", withToken, "203.0.113.9", "bearer " + token, true, ""},
		{"a stranger with a wrong token", withToken, "203.0.113.9", "Bearer " + token + "x", false, "bearer token is not BERTH_METRICS_TOKEN"},
		{"a prefix of the token", withToken, "203.0.113.9", "Bearer " + token[:10], false, "not BERTH_METRICS_TOKEN"},
		{"basic auth is no token", withToken, "203.0.113.9", "Basic " + token, false, "came from"},
		{"inside an allowed net", private, "10.1.2.3", "", true, ""},
		{"loopback not in the configured nets", private, "127.0.0.1", "", false, "came from 127.0.0.1"},
		{"no nets: token only", none, "127.0.0.1", "", false, "outside those networks"},
		{"no nets, with the token", none, "127.0.0.1", "Bearer " + token, true, ""},
		{"an unreadable address", def, "not-an-ip", "", false, "address is unknown"},
	} {
		err := tc.cfg.Permit(tc.ip, tc.authz)
		if tc.ok != (err == nil) {
			t.Errorf("%s: Permit(%q, %q) = %v, want ok=%v", tc.name, tc.ip, tc.authz, err, tc.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), tc.detail) || !strings.Contains(err.Error(), "BERTH_METRICS_ALLOWED_NETS") {
				t.Errorf("%s: refusal %q lacks %q", tc.name, err, tc.detail)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("%s: refusal tells the token: %q", tc.name, err)
			}
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("BERTH_METRICS_ALLOWED_NETS", "")
	t.Setenv("BERTH_METRICS_TOKEN", "")
	t.Setenv("BERTH_METRICS_POOL_SERIES", "")
	c, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	d := c.withDefaults()
	if c.AllowedNets != nil || d.PoolSeries != DefaultPoolSeries || d.TTL != FleetTTL || c.Token != "" {
		t.Errorf("defaults: %+v", d)
	}
	t.Setenv("BERTH_METRICS_POOL_SERIES", "0")
	if c, err := ConfigFromEnv(); err != nil || c.withDefaults().PoolSeries >= 0 {
		t.Errorf("POOL_SERIES=0 gave %+v, %v; want no per-pool series", c, err)
	}
	t.Setenv("BERTH_METRICS_POOL_SERIES", "50000")
	if c, err := ConfigFromEnv(); err != nil || c.PoolSeries != 50000 {
		t.Errorf("POOL_SERIES=50000 gave %+v, %v", c, err)
	}
	for name, bad := range map[string]string{
		"BERTH_METRICS_POOL_SERIES":  "-1",
		"BERTH_METRICS_TOKEN":        "short",
		"BERTH_METRICS_ALLOWED_NETS": "10.0.0.0/8,bad",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			if _, err := ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: %v", name, bad, err)
			}
		})
	}
}
