package auth_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/clientip"
)

// serve runs r through the front door (clientip, then SecureCookies) and
// returns the session cookie set, the HSTS header and the token read back.
func serve(t *testing.T, trusted string, mode auth.CookieMode, r *http.Request) (*http.Cookie, string, string) {
	t.Helper()
	res, err := clientip.New(trusted)
	if err != nil {
		t.Fatal(err)
	}
	var token string
	w := httptest.NewRecorder()
	res.Middleware(auth.SecureCookies(mode, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token = auth.SessionToken(r)
		auth.SetSessionCookie(w, r, "tok")
	}))).ServeHTTP(w, r)
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	return cs[0], w.Header().Get("Strict-Transport-Security"), token
}

func TestCookieSecurity(t *testing.T) {
	plain := func(peer string, h map[string]string) *http.Request {
		r := httptest.NewRequest("POST", "http://berth.example/api/v1/session", nil)
		r.RemoteAddr = peer
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	https := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}
	withTLS := plain("203.0.113.5:4000", nil)
	withTLS.TLS = &tls.ConnectionState{}
	for _, c := range []struct {
		name    string
		trusted string
		mode    auth.CookieMode
		r       *http.Request
		secure  bool
	}{
		{"auto, plain HTTP", "", auth.CookieAuto, plain("203.0.113.5:4000", nil), false},
		{"auto, a client's own X-Forwarded-Proto is ignored", "", auth.CookieAuto, plain("203.0.113.5:4000", https), false},
		{"auto, an untrusted peer's X-Forwarded-Proto is ignored", "10.0.0.1", auth.CookieAuto, plain("203.0.113.5:4000", https), false},
		{"auto, a trusted proxy says https", "10.0.0.1", auth.CookieAuto, plain("10.0.0.1:4000", https), true},
		{"auto, TLS", "", auth.CookieAuto, withTLS, true},
		{"true, plain HTTP", "", auth.CookieAlways, plain("203.0.113.5:4000", nil), true},
		{"false, a trusted proxy says https", "10.0.0.1", auth.CookieNever, plain("10.0.0.1:4000", https), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ck, hsts, _ := serve(t, c.trusted, c.mode, c.r)
			if ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Fatalf("cookie %+v", ck)
			}
			if c.secure {
				if ck.Name != "__Host-berth_session" || !ck.Secure || hsts != "max-age=31536000" {
					t.Fatalf("secure: cookie %s Secure=%v, HSTS %q", ck.Name, ck.Secure, hsts)
				}
				return
			}
			if ck.Name != auth.SessionCookie || ck.Secure || hsts != "" {
				t.Fatalf("not secure: cookie %s Secure=%v, HSTS %q", ck.Name, ck.Secure, hsts)
			}
		})
	}
}

// On a secure request only the __Host- cookie is read: a plain-named cookie
// planted over plain HTTP or by a sibling domain does not count.
func TestSecureRequestReadsOnlyHostCookie(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: "planted"})
	if _, _, tok := serve(t, "", auth.CookieAlways, r); tok != "" {
		t.Fatalf("read the plain cookie %q on a secure request", tok)
	}
	r.AddCookie(&http.Cookie{Name: auth.SecureSessionCookie, Value: "real"})
	if _, _, tok := serve(t, "", auth.CookieAlways, r); tok != "real" {
		t.Fatalf("read %q, want the __Host- cookie", tok)
	}
	if _, _, tok := serve(t, "", auth.CookieAuto, r); tok != "planted" {
		t.Fatalf("plain HTTP read %q, want the plain cookie", tok)
	}
}

func TestParseCookieMode(t *testing.T) {
	for in, want := range map[string]auth.CookieMode{"": auth.CookieAuto, "auto": auth.CookieAuto, "TRUE": auth.CookieAlways, "false": auth.CookieNever} {
		if got, err := auth.ParseCookieMode(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	if _, err := auth.ParseCookieMode("yes"); err == nil {
		t.Error("yes accepted")
	}
}
