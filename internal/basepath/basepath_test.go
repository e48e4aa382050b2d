package basepath

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFromURL(t *testing.T) {
	reserved := []string{"admin", "api", "status"}
	for _, c := range []struct{ in, want, err string }{
		{"", "", ""},
		{"https://berth.example.com", "", ""},
		{"https://berth.example.com/", "", ""},
		{"https://ops.example.com/berth", "/berth", ""},
		{"https://ops.example.com/berth/", "/berth", ""},
		{"https://ops.example.com/tools/berth-2/", "/tools/berth-2", ""},
		{"https://ops.example.com/Admin/", "", "one of berth's own paths"},
		{"https://ops.example.com/api/x", "", "one of berth's own paths"},
		{"https://ops.example.com/a%20b", "", "needs escaping"},
		{"https://ops.example.com/a//b", "", "empty"},
		{"https://ops.example.com/a/../b", "", "'..'"},
	} {
		got, err := FromURL(c.in, reserved)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("FromURL(%q) = %q, %v; want an error saying %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("FromURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestStrip(t *testing.T) {
	for _, c := range []struct {
		prefix, in, want string
		had              bool
	}{
		{"/berth", "/berth/admin/", "/admin/", true},
		{"/berth", "/berth", "/", true},
		{"/berth", "/berth/", "/", true},
		{"/berth", "/admin/", "/admin/", false},         // a proxy stripped it
		{"/berth", "/berthday/x", "/berthday/x", false}, // not a segment boundary
		{"", "/admin/", "/admin/", false},
	} {
		got, had := Strip(c.prefix, c.in)
		if got != c.want || had != c.had {
			t.Errorf("Strip(%q, %q) = %q, %v; want %q, %v", c.prefix, c.in, got, had, c.want, c.had)
		}
	}
}

// TestHandler: the prefix comes off the path when it is there, is in the
// context either way, and goes onto root-relative Location headers only.
func TestHandler(t *testing.T) {
	var seen, ctxPrefix string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, ctxPrefix = r.URL.Path, From(r.Context())
		switch r.URL.Query().Get("to") {
		case "root":
			http.Redirect(w, r, "/admin/?a=1", http.StatusSeeOther)
		case "abs":
			w.Header().Set("Location", "https://elsewhere.example/x")
			w.WriteHeader(http.StatusFound)
		case "net":
			w.Header().Set("Location", "//elsewhere.example/x")
			w.WriteHeader(http.StatusFound)
		default:
			w.Write([]byte("ok"))
		}
	})
	h := Handler("/berth", next)
	for _, c := range []struct{ target, path, loc string }{
		{"/berth/status", "/status", ""},
		{"/status", "/status", ""},
		{"/berth", "/", ""},
		{"/berth/login?to=root", "/login", "/berth/admin/?a=1"},
		{"/login?to=root", "/login", "/berth/admin/?a=1"},
		{"/berth/x?to=abs", "/x", "https://elsewhere.example/x"},
		{"/berth/x?to=net", "/x", "//elsewhere.example/x"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.target, nil))
		if seen != c.path || ctxPrefix != "/berth" {
			t.Errorf("%s: handler saw %q under %q, want %q under /berth", c.target, seen, ctxPrefix, c.path)
		}
		if got := rec.Header().Get("Location"); got != c.loc {
			t.Errorf("%s: Location %q, want %q", c.target, got, c.loc)
		}
	}
	if Handler("", next) == nil {
		t.Fatal("nil handler")
	}
	rec := httptest.NewRecorder()
	Handler("", next).ServeHTTP(rec, httptest.NewRequest("GET", "/x?to=root", nil))
	if got := rec.Header().Get("Location"); got != "/admin/?a=1" || ctxPrefix != "" {
		t.Errorf("at the root: Location %q, prefix %q", got, ctxPrefix)
	}
}
