// Package clientip finds the address of the client behind a request once, at
// the front door, so every per-address limit (sign-in, the public redeem API,
// the console's public forms) and the audit log count the same address.
//
// With no trusted proxies (the default) the client is the TCP peer and
// forwarded headers are ignored: a client cannot pick its own address. When
// the peer is a trusted proxy (BERTH_TRUSTED_PROXIES), the client is the
// right-most X-Forwarded-For entry that is not itself a trusted proxy; the
// entries to its left were written by the client and are never believed.
package clientip

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/realclientip/realclientip-go"
)

// Info is what the front door learnt about a request.
type Info struct {
	// IP is the client address every limit and the audit log use.
	IP string
	// Peer is the TCP peer's address (host:port), a proxy's when Proxied.
	Peer string
	// Proxied: the peer is a trusted proxy and IP came from X-Forwarded-For.
	Proxied bool
	// HTTPS: the request reached berth over TLS, or a trusted proxy says
	// the client used https (X-Forwarded-Proto). Headers from other peers
	// are ignored.
	HTTPS bool
}

type ctxKey struct{}

// From returns the Info the Resolver's middleware put in ctx.
func From(ctx context.Context) (Info, bool) {
	i, ok := ctx.Value(ctxKey{}).(Info)
	return i, ok
}

// Resolver resolves client addresses given the trusted proxies.
type Resolver struct {
	trusted []net.IPNet
	strat   realclientip.Strategy
}

// New parses a comma-separated list of IP addresses and CIDR ranges of
// trusted reverse proxies (BERTH_TRUSTED_PROXIES); empty trusts none.
func New(trustedProxies string) (*Resolver, error) {
	var items []string
	for _, s := range strings.Split(trustedProxies, ",") {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, s)
		}
	}
	r := &Resolver{}
	if len(items) == 0 {
		return r, nil
	}
	nets, err := realclientip.AddressesAndRangesToIPNets(items...)
	if err != nil {
		return nil, fmt.Errorf("BERTH_TRUSTED_PROXIES=%q: %w (want a comma list of IP addresses and CIDR ranges, e.g. 10.0.0.0/8,192.0.2.7)",
			trustedProxies, err)
	}
	strat, err := realclientip.NewRightmostTrustedRangeStrategy("X-Forwarded-For", nets)
	if err != nil {
		return nil, err
	}
	r.trusted, r.strat = nets, strat
	return r, nil
}

// Trusts reports whether ip (an address, no port) is a trusted proxy.
func (res *Resolver) Trusts(ip string) bool {
	a := net.ParseIP(stripZone(ip))
	if a == nil {
		return false
	}
	for _, n := range res.trusted {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns what r says about its client.
func (res *Resolver) Resolve(r *http.Request) Info {
	peer := host(r.RemoteAddr)
	info := Info{IP: peer, Peer: r.RemoteAddr, HTTPS: r.TLS != nil}
	if res.strat == nil || !res.Trusts(peer) {
		return info
	}
	if ip := res.strat.ClientIP(r.Header, r.RemoteAddr); ip != "" {
		info.IP, info.Proxied = ip, true
	}
	if !info.HTTPS {
		info.HTTPS = forwardedHTTPS(r.Header)
	}
	return info
}

// Middleware resolves the client of every request: r.RemoteAddr becomes the
// client's address (port 0 when it came from a proxy), so every reader of
// RemoteAddr (auth.RemoteIP, the API's and the console's limits, the audit
// log) counts the client, and the Info goes into the context.
func (res *Resolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := res.Resolve(r)
		r2 := r.WithContext(context.WithValue(r.Context(), ctxKey{}, info))
		if info.Proxied {
			r2.RemoteAddr = net.JoinHostPort(info.IP, "0")
		}
		next.ServeHTTP(w, r2)
	})
}

// forwardedHTTPS reads X-Forwarded-Proto as the nearest proxy set it: the
// right-most value.
func forwardedHTTPS(h http.Header) bool {
	vals := h.Values("X-Forwarded-Proto")
	if len(vals) == 0 {
		return false
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}

func host(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func stripZone(ip string) string {
	if i := strings.IndexByte(ip, '%'); i >= 0 {
		return ip[:i]
	}
	return ip
}

// Key is the part of a client address that per-address limits count: the
// address itself for IPv4, its /64 network for IPv6 (one subscriber usually
// holds a whole /64, so counting single IPv6 addresses would give one client
// 2^64 buckets).
func Key(ip string) string {
	a := net.ParseIP(stripZone(ip))
	if a == nil {
		return ip
	}
	if v4 := a.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: a.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
