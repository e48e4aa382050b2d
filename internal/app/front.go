package app

import (
	"net/http"

	"github.com/berthhq/berth/internal/api"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/clientip"
	"github.com/berthhq/berth/internal/web"
)

// Front configures berth's front door: who the client of a request is
// behind a reverse proxy, when cookies are Secure, and the per-address
// limits of the public routes. Zero fields take the defaults.
type Front struct {
	// TrustedProxies (BERTH_TRUSTED_PROXIES) is a comma list of IP
	// addresses and CIDR ranges of reverse proxies whose X-Forwarded-For
	// and X-Forwarded-Proto are believed; empty (the default) trusts none.
	TrustedProxies string
	// CookieSecure (BERTH_COOKIE_SECURE) is auto (default), true or false;
	// see auth.CookieMode.
	CookieSecure string
	// PublicRate and PublicBurst (BERTH_PUBLIC_RATE, BERTH_PUBLIC_BURST)
	// limit each client address on the public API routes (default 20 a
	// second, bursts of 40).
	PublicRate  float64
	PublicBurst int
	// FormRate and FormBurst (BERTH_FORM_RATE, BERTH_FORM_BURST) limit
	// each client address on the console's public forms (default 5 a
	// second, bursts of 20).
	FormRate  float64
	FormBurst int
}

// front is a parsed Front.
type front struct {
	cfg      Front
	resolver *clientip.Resolver
	cookies  auth.CookieMode
}

// newFront checks a Front before anything is opened.
func newFront(cfg Front) (*front, error) {
	res, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	mode, err := auth.ParseCookieMode(cfg.CookieSecure)
	if err != nil {
		return nil, err
	}
	return &front{cfg: cfg, resolver: res, cookies: mode}, nil
}

// limitAPI applies the public API routes' limit when set.
func (f *front) limitAPI(s *api.Server) {
	if f.cfg.PublicRate > 0 || f.cfg.PublicBurst > 0 {
		s.SetPublicRate(orF(f.cfg.PublicRate, api.DefaultPublicRate), orI(f.cfg.PublicBurst, api.DefaultPublicBurst))
	}
}

// limitWeb applies the console's public forms' limit when set.
func (f *front) limitWeb(w *web.Web) *web.Web {
	if f.cfg.FormRate > 0 || f.cfg.FormBurst > 0 {
		w.SetPublicRate(orF(f.cfg.FormRate, web.DefaultFormRate), orI(f.cfg.FormBurst, web.DefaultFormBurst))
	}
	return w
}

// wrap puts the front door around the whole mux: first the client address
// (every limit and the audit log read it from r.RemoteAddr), then the
// cookie security and HSTS decision.
func (f *front) wrap(h http.Handler) http.Handler {
	return f.resolver.Middleware(auth.SecureCookies(f.cookies, h))
}

func orF(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}

func orI(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
