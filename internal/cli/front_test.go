package cli

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app"
)

func TestFrontFromEnv(t *testing.T) {
	t.Setenv("BERTH_TRUSTED_PROXIES", "10.0.0.0/8")
	t.Setenv("BERTH_COOKIE_SECURE", "true")
	t.Setenv("BERTH_PUBLIC_RATE", "2.5")
	t.Setenv("BERTH_PUBLIC_BURST", "7")
	t.Setenv("BERTH_FORM_RATE", "1")
	t.Setenv("BERTH_FORM_BURST", "3")
	t.Setenv("BERTH_LOGIN_RATE", "30")
	t.Setenv("BERTH_LOGIN_BURST", "4")
	var cfg app.Config
	if err := frontFromEnv(&cfg); err != nil {
		t.Fatal(err)
	}
	want := app.Front{TrustedProxies: "10.0.0.0/8", CookieSecure: "true", PublicRate: 2.5, PublicBurst: 7, FormRate: 1, FormBurst: 3}
	if cfg.Front != want || cfg.Auth.LoginPerMinute != 30 || cfg.Auth.LoginBurst != 4 {
		t.Fatalf("got %+v, login %v/%d", cfg.Front, cfg.Auth.LoginPerMinute, cfg.Auth.LoginBurst)
	}
	for name, bad := range map[string]string{"BERTH_PUBLIC_RATE": "-1", "BERTH_FORM_BURST": "1.5", "BERTH_LOGIN_RATE": "NaN"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			if err := frontFromEnv(&app.Config{}); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: %v", name, bad, err)
			}
		})
	}
}
