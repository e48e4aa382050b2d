package cli

import (
	"fmt"
	"os"
	"strconv"

	"github.com/berthhq/berth/internal/app"
)

// frontFromEnv reads the front door's settings (app.Front) and the sign-in
// limit per address:
//
//	BERTH_TRUSTED_PROXIES  comma list of IPs and CIDRs of reverse proxies
//	                       whose X-Forwarded-For / X-Forwarded-Proto are
//	                       believed (default: none)
//	BERTH_COOKIE_SECURE    auto (default: Secure when TLS is seen or a
//	                       trusted proxy says https), true or false
//	BERTH_PUBLIC_RATE, BERTH_PUBLIC_BURST  requests a second and burst per
//	                       client address on the public API routes (20, 40)
//	BERTH_FORM_RATE, BERTH_FORM_BURST      the same for the console's public
//	                       forms /redeem and /status (5, 20)
//	BERTH_LOGIN_RATE, BERTH_LOGIN_BURST    sign-in attempts a minute and
//	                       burst per client address (10, 10)
func frontFromEnv(cfg *app.Config) error {
	cfg.Front.TrustedProxies = os.Getenv("BERTH_TRUSTED_PROXIES")
	cfg.Front.CookieSecure = os.Getenv("BERTH_COOKIE_SECURE")
	for _, s := range []struct {
		name string
		f    *float64
		i    *int
	}{
		{"BERTH_PUBLIC_RATE", &cfg.Front.PublicRate, nil},
		{"BERTH_PUBLIC_BURST", nil, &cfg.Front.PublicBurst},
		{"BERTH_FORM_RATE", &cfg.Front.FormRate, nil},
		{"BERTH_FORM_BURST", nil, &cfg.Front.FormBurst},
		{"BERTH_LOGIN_RATE", &cfg.Auth.LoginPerMinute, nil},
		{"BERTH_LOGIN_BURST", nil, &cfg.Auth.LoginBurst},
	} {
		v := os.Getenv(s.name)
		if v == "" {
			continue
		}
		if s.f != nil {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || !(x > 0) || x > 1e9 {
				return fmt.Errorf("%s=%q: want a positive number", s.name, v)
			}
			*s.f = x
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("%s=%q: want a positive whole number", s.name, v)
		}
		*s.i = n
	}
	return nil
}
