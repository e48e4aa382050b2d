// Package egress decides which addresses berth may connect to on behalf of a
// pool's provider (SCIM base URLs, webhook URLs, SFTP hosts), so that whoever
// may edit a pool's provider settings cannot make berth reach the cloud
// metadata service, a database on the loopback interface or another internal
// service and read its answers.
//
// A Policy is parsed from BERTH_PROVIDER_ALLOWED_HOSTS, a comma-separated
// list in the manner of Gitea's webhook ALLOWED_HOST_LIST:
//
//	external   public unicast addresses (the default)
//	loopback   127.0.0.0/8 and ::1
//	private    RFC 1918 (10/8, 172.16/12, 192.168/16), RFC 6598 shared
//	           space (100.64/10), IPv6 unique local fc00::/7 and the old
//	           site-local fec0::/10
//	*          every address
//	a CIDR or an IP address, e.g. 10.1.0.0/16 or 192.0.2.7
//	a host name, e.g. scim.example.com, or a glob such as *.example.com
//
// Link-local addresses (169.254.0.0/16, where cloud metadata services
// answer, and fe80::/10), the metadata services' other addresses
// (fd00:ec2::254, 100.100.100.200), the unspecified address, multicast,
// broadcast and the other special-purpose ranges belong to no keyword: only
// a CIDR or address naming them, or "*", allows them.
//
// The check is made when connecting (Policy.DialContext): address entries
// and keywords are matched against the address actually connected to, after
// name resolution, so a name that resolves to an internal address (DNS
// rebinding included) is refused. Host-name entries are matched against the
// name asked for: a name listed is trusted to resolve where it should.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strings"
	"syscall"
	"time"
)

// Setting is the environment variable the allow-list is read from.
const Setting = "BERTH_PROVIDER_ALLOWED_HOSTS"

// Keywords of an allow-list.
const (
	External = "external"
	Loopback = "loopback"
	Private  = "private"
	All      = "*"
)

// Policy is a parsed allow-list. The zero Policy allows nothing; use
// Default or Parse. A Policy is immutable and safe for concurrent use.
type Policy struct {
	text                        string // canonical form, for messages
	all, ext, loopback, private bool
	nets                        []netip.Prefix
	names                       []string // lower case, without a trailing dot; may hold '*'
}

// Default is the policy when nothing is configured: external only.
func Default() *Policy { return defaultPolicy }

var defaultPolicy = MustParse(External)

// MustParse is Parse for constants; it panics on an error.
func MustParse(s string) *Policy {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Parse reads a comma-separated allow-list. An empty or blank s is the
// default, "external".
func Parse(s string) (*Policy, error) {
	p := &Policy{}
	var canon []string
	for _, e := range strings.Split(s, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		switch {
		case e == External:
			p.ext = true
		case e == Loopback:
			p.loopback = true
		case e == Private:
			p.private = true
		case e == All:
			p.all = true
		case strings.Contains(e, "/"):
			pf, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a CIDR such as 10.0.0.0/8 or fd00::/8", Setting, e)
			}
			p.nets = append(p.nets, pf.Masked())
			e = pf.Masked().String()
		default:
			if a, err := netip.ParseAddr(e); err == nil {
				a = a.Unmap().WithZone("")
				p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
				e = a.String()
				break
			}
			e = strings.TrimSuffix(e, ".")
			if !validName(e) {
				return nil, fmt.Errorf("%s: %q is not one of external, loopback, private, *, a CIDR, an IP address or a host name (globs like *.example.com are allowed)", Setting, e)
			}
			p.names = append(p.names, e)
		}
		canon = append(canon, e)
	}
	if len(canon) == 0 {
		p.ext = true
		canon = []string{External}
	}
	p.text = strings.Join(canon, ",")
	return p, nil
}

// validName accepts host names and globs of them: letters, digits, '-',
// '_', '.' and '*', no empty labels.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return false
		}
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '*':
		default:
			return false
		}
	}
	return true
}

// String is the allow-list as configured (normalised), e.g. "external".
func (p *Policy) String() string { return p.text }

// AllowsName reports whether host, a name asked for (not an address), is
// listed by name. Addresses are never matched here: see AllowsAddr.
func (p *Policy) AllowsName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	for _, n := range p.names {
		if n == host {
			return true
		}
		if ok, _ := path.Match(n, host); ok && strings.Contains(n, "*") {
			return true
		}
	}
	return false
}

// AllowsAddr reports whether connecting to a is allowed.
func (p *Policy) AllowsAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	if p.all {
		return true
	}
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	switch Classify(a) {
	case ClassExternal:
		return p.ext
	case ClassLoopback:
		return p.loopback
	case ClassPrivate:
		return p.private
	}
	return false
}

// Class is the category of an address.
type Class int

// Address classes. ClassOther (link-local, unspecified, multicast, reserved
// and documentation ranges) is allowed only by a CIDR or "*".
const (
	ClassOther Class = iota
	ClassExternal
	ClassLoopback
	ClassPrivate
)

func (c Class) String() string {
	switch c {
	case ClassExternal:
		return External
	case ClassLoopback:
		return Loopback
	case ClassPrivate:
		return Private
	}
	return "special-purpose"
}

var (
	// metadata: cloud metadata services outside 169.254.0.0/16 (AWS over
	// IPv6, a unique local address; Alibaba Cloud, in the shared space):
	// never in a keyword, even private.
	metadataNets = prefixes("fd00:ec2::254/128", "100.100.100.200/32")
	// private: RFC 1918, RFC 6598 shared address space (carrier-grade NAT,
	// also used by mesh VPNs), IPv6 unique local and deprecated site-local.
	privateNets = prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fec0::/10")
	// other: special-purpose ranges that are not public either (RFC 6890
	// and later): "this network", IETF protocol assignments, benchmarking,
	// documentation, reserved, and their IPv6 counterparts.
	otherNets = prefixes("0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4", "100::/64", "2001:db8::/32", "2001::/23", "3fff::/20", "5f00::/16")
	// nat64 embeds an IPv4 address that a NAT64 gateway connects to.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Classify returns the category of a. An IPv4-mapped IPv6 address and a
// NAT64 address (64:ff9b::/96) are classified by the IPv4 address in them.
func Classify(a netip.Addr) Class {
	a = a.Unmap().WithZone("")
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case !a.IsValid():
		return ClassOther
	case a.IsLoopback():
		return ClassLoopback
	case a.IsUnspecified(), a.IsMulticast(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return ClassOther
	}
	for _, n := range metadataNets {
		if n.Contains(a) {
			return ClassOther
		}
	}
	for _, n := range privateNets {
		if n.Contains(a) {
			return ClassPrivate
		}
	}
	for _, n := range otherNets {
		if n.Contains(a) {
			return ClassOther
		}
	}
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || !a.IsGlobalUnicast() {
		return ClassOther
	}
	return ClassExternal
}

// RefusedError is a connection the policy did not allow.
type RefusedError struct {
	Addr   netip.Addr // the address that was to be connected to
	Host   string     // the name asked for, when not the address itself
	Policy string     // the allow-list in force
}

func (e *RefusedError) Error() string {
	what := e.Addr.String()
	if e.Host != "" && e.Host != what {
		what += " (" + e.Host + ")"
	}
	return fmt.Sprintf("provider address %s is not allowed: set %s (now: %s)", what, Setting, e.Policy)
}

// Refused returns the *RefusedError in err's chain, or nil.
func Refused(err error) *RefusedError {
	var re *RefusedError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// DialTimeout and KeepAlive are the dialer settings of DialContext, those of
// net/http's default transport.
const (
	DialTimeout = 30 * time.Second
	KeepAlive   = 30 * time.Second
)

// DialContext connects like net.Dialer.DialContext, refusing with a
// *RefusedError (wrapped in a *net.OpError) any address p does not allow.
// The check runs in the dialer's Control function, on the address of each
// connection attempt, after name resolution.
func (p *Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	byName := p.AllowsName(host)
	d := net.Dialer{Timeout: DialTimeout, KeepAlive: KeepAlive,
		Control: func(_, address string, _ syscall.RawConn) error {
			if byName {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("egress: cannot read the address %q being connected to: %w", address, err)
			}
			if !p.AllowsAddr(ap.Addr()) {
				return &RefusedError{Addr: ap.Addr().Unmap().WithZone(""), Host: host, Policy: p.text}
			}
			return nil
		}}
	return d.DialContext(ctx, network, addr)
}

type ctxKey struct{}

// NewContext returns ctx carrying p: providers called with it (or a context
// derived from it) connect under p.
func NewContext(ctx context.Context, p *Policy) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the policy ctx carries, or Default when none.
func FromContext(ctx context.Context) *Policy {
	if p, ok := ctx.Value(ctxKey{}).(*Policy); ok && p != nil {
		return p
	}
	return defaultPolicy
}
