package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/fleet"
)

// Config holds the settings of /metrics: who may read it (package api
// checks Permit before answering) and how much a scrape costs.
type Config struct {
	// AllowedNets are the client networks answered without a token
	// (BERTH_METRICS_ALLOWED_NETS); nil means DefaultAllowedNets, empty
	// (the value "none") means none.
	AllowedNets []netip.Prefix
	// Token, when set, lets a client from any address read /metrics with
	// Authorization: Bearer <Token> (BERTH_METRICS_TOKEN).
	Token string
	// PoolSeries is the largest fleet for which per-pool series are
	// exported (BERTH_METRICS_POOL_SERIES): 0 means DefaultPoolSeries, a
	// negative value never (the setting's 0).
	PoolSeries int
	// TTL is how long one read of the fleet's state serves later scrapes;
	// 0 means FleetTTL.
	TTL time.Duration
	// Health reads this process's pool health scores by pool id
	// (alloc.Service.PoolHealths; a pool missing is healthy, 1) for
	// berth_pool_health_score; nil: the series is not exported.
	Health func() map[int64]float64
}

// DefaultPoolSeries is the default of BERTH_METRICS_POOL_SERIES.
const DefaultPoolSeries = 1000

// FleetTTL is how long one read of the fleet's state (pools, seats, queue,
// jobs) is reused by later scrapes; concurrent scrapes share one read.
const FleetTTL = fleet.DefaultTTL

// DefaultAllowedNets is the default of BERTH_METRICS_ALLOWED_NETS: loopback.
var DefaultAllowedNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func (c Config) withDefaults() Config {
	if c.AllowedNets == nil {
		c.AllowedNets = DefaultAllowedNets
	}
	if c.PoolSeries == 0 {
		c.PoolSeries = DefaultPoolSeries
	}
	if c.TTL <= 0 {
		c.TTL = FleetTTL
	}
	return c
}

// ParseNets reads a comma list of CIDRs or single addresses (the form of
// BERTH_METRICS_ALLOWED_NETS). "" gives nil (the default, loopback);
// "none" an empty list (only the token is accepted).
func ParseNets(s string) ([]netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.EqualFold(s, "none") {
		return []netip.Prefix{}, nil
	}
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR (such as 10.0.0.0/8) nor an address", f)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if out == nil {
		return []netip.Prefix{}, nil
	}
	return out, nil
}

// Permit decides whether a client may read /metrics: its address (the host
// of the request's remote address) is in AllowedNets, or authorization (the
// Authorization header) is "Bearer <Token>". The admin token and users'
// tokens are not accepted: a Prometheus scrape configuration holds only a
// credential that reads metrics. The error says why a client was refused.
func (c Config) Permit(clientIP, authorization string) error {
	c = c.withDefaults()
	addr, addrErr := netip.ParseAddr(clientIP)
	if addrErr == nil {
		addr = addr.Unmap().WithZone("")
		for _, p := range c.AllowedNets {
			if p.Contains(addr) {
				return nil
			}
		}
	}
	scheme, token, hasToken := strings.Cut(strings.TrimSpace(authorization), " ")
	hasToken = hasToken && strings.EqualFold(scheme, "Bearer")
	token = strings.TrimSpace(token)
	if hasToken && c.Token != "" {
		// Compared as hashes: constant time, and the length is not told.
		got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(c.Token))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			return nil
		}
	}
	why := "/metrics answers only clients in BERTH_METRICS_ALLOWED_NETS (default: loopback) " +
		"and requests with Authorization: Bearer <BERTH_METRICS_TOKEN>; "
	if addrErr != nil {
		why += "this request's address is unknown"
	} else {
		why += "this request came from " + addr.String() + ", outside those networks"
	}
	switch {
	case hasToken && c.Token == "":
		why += ", and no BERTH_METRICS_TOKEN is set"
	case hasToken:
		why += ", and its bearer token is not BERTH_METRICS_TOKEN"
	}
	return &DeniedError{Detail: why}
}

// DeniedError is Permit's refusal.
type DeniedError struct{ Detail string }

func (e *DeniedError) Error() string { return e.Detail }

// CheckToken refuses a BERTH_METRICS_TOKEN shorter than 16 characters
// (empty: no token), from the variable or its _FILE.
func CheckToken(tok string) error {
	if tok != "" && len(tok) < 16 {
		return errors.New("BERTH_METRICS_TOKEN must be at least 16 characters")
	}
	return nil
}

// ConfigFromEnv reads the settings of /metrics: BERTH_METRICS_ALLOWED_NETS
// (comma CIDRs or addresses, or "none"; default loopback),
// BERTH_METRICS_TOKEN (at least 16 characters; unset: no token) and
// BERTH_METRICS_POOL_SERIES (default 1000; 0: no per-pool series).
func ConfigFromEnv() (Config, error) {
	var c Config
	var err error
	if c.AllowedNets, err = ParseNets(os.Getenv("BERTH_METRICS_ALLOWED_NETS")); err != nil {
		return c, fmt.Errorf("BERTH_METRICS_ALLOWED_NETS: %w", err)
	}
	c.Token = os.Getenv("BERTH_METRICS_TOKEN")
	if err := CheckToken(c.Token); err != nil {
		return c, err
	}
	if v := strings.TrimSpace(os.Getenv("BERTH_METRICS_POOL_SERIES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, fmt.Errorf("BERTH_METRICS_POOL_SERIES=%q: want a number of pools (0: no per-pool series)", v)
		}
		c.PoolSeries = n
		if n == 0 {
			c.PoolSeries = -1
		}
	}
	return c, nil
}
