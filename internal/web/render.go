package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/auth"
)

// flash is a message shown above a page's content.
type flash struct {
	Kind string // ok | error | warn
	Text string
}

// navItem is one link of the admin navigation.
type navItem struct {
	Key, Href string
	Role      auth.Role
	Current   bool
}

var adminNav = []navItem{
	{Key: "nav.dashboard", Href: "/admin/", Role: auth.RoleViewer},
	{Key: "nav.servers", Href: "/admin/servers", Role: auth.RoleViewer},
	{Key: "nav.accounts", Href: "/admin/accounts", Role: auth.RoleViewer},
	{Key: "nav.teams", Href: "/admin/teams", Role: auth.RoleViewer},
	{Key: "nav.seats", Href: "/admin/seats", Role: auth.RoleViewer},
	{Key: "nav.codes", Href: "/admin/codes", Role: auth.RoleViewer},
	{Key: "nav.queue", Href: "/admin/queue", Role: auth.RoleViewer},
	{Key: "nav.history", Href: "/admin/history", Role: auth.RoleViewer},
	{Key: "nav.audit", Href: "/admin/audit", Role: auth.RoleAdmin},
	{Key: "nav.integrity", Href: "/admin/integrity", Role: auth.RoleViewer},
	{Key: "nav.users", Href: "/admin/users", Role: auth.RoleAdmin},
}

var publicNav = []navItem{
	{Key: "nav.redeem", Href: "/redeem"},
	{Key: "nav.status", Href: "/status"},
}

// page is what every template sees: the language, the caller, the chrome,
// and the page's own Data.
type page struct {
	L        lang
	Title    string
	Admin    bool
	SignedIn bool
	User     auth.User
	Nav      []navItem
	Path     string
	Flash    []flash
	ReqID    string
	Data     any
	// Refresh > 0 reloads the page every Refresh seconds when scripts are
	// off (a page with a script refreshes its own parts).
	Refresh int
}

// T translates a catalogue key.
func (p *page) T(key string, args ...any) string { return p.L.T(key, args...) }

// Word translates an enumerated value (a status, a state, a role) from the
// group "group.value", falling back to the value itself.
func (p *page) Word(group string, v any) string { return p.L.Word(group, v) }

// Can reports whether the signed-in user's role allows need.
func (p *page) Can(need string) bool { return p.SignedIn && p.User.Role.Allows(auth.Role(need)) }

// OtherLang is the language the switch link offers.
func (p *page) OtherLang() lang {
	if p.L == zh {
		return en
	}
	return zh
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"pct": func(used, capacity int) int {
		if capacity <= 0 {
			return 0
		}
		return min(100, used*100/capacity)
	},
	// low and high are the meter's marks: green below 75% of capacity,
	// amber up to 90%, red above.
	"low":  func(capacity int) int { return capacity * 3 / 4 },
	"high": func(capacity int) int { return capacity * 9 / 10 },
	"sortedKeys": func(m map[string]int) []keyCount {
		out := make([]keyCount, 0, len(m))
		for k, v := range m {
			out = append(out, keyCount{k, v})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		return out
	},
	"labels": func(m map[string]string) string { return strings.Join(labelPairs(m), ", ") },
	"sub":    func(a, b int) int { return a - b },
	"add":    func(a, b int) int { return a + b },
	"left":   func(limit, count int) int { return max(0, limit-count) },
	"contains": func(list []string, v string) bool {
		for _, s := range list {
			if s == v {
				return true
			}
		}
		return false
	},
}

// labelPairs is labels as "key=value" items, sorted: the pages show them
// joined by ", " (a form's field, one a line).
func labelPairs(m map[string]string) []string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return parts
}

type keyCount struct {
	Key   string
	Count int
}

func (w *Web) parseTemplates() {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		w.pages[name] = template.Must(template.New(name).Funcs(funcs).Funcs(template.FuncMap{"base": w.BasePath}).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n))
	}
}

// newPage fills the chrome of a page for r.
func (w *Web) newPage(r *http.Request, titleKey string, data any) *page {
	l := w.lang(r)
	p := &page{L: l, Title: l.T(titleKey), Data: data, ReqID: requestID(r),
		Admin: strings.HasPrefix(r.URL.Path, "/admin")}
	if u, ok := auth.FromContext(r.Context()); ok {
		p.SignedIn, p.User = true, u
	}
	nav := publicNav
	if p.Admin {
		nav = adminNav
	}
	for _, it := range nav {
		if it.Role != "" && !(p.SignedIn && p.User.Role.Allows(it.Role)) {
			continue
		}
		it.Current = r.URL.Path == it.Href || (it.Href != "/admin/" && strings.HasPrefix(r.URL.Path, it.Href+"/"))
		p.Nav = append(p.Nav, it)
	}
	p.Path = r.URL.RequestURI()
	if r.Method != http.MethodGet {
		// After a form post, the language switch goes back to the page the
		// form came from, not to the action.
		p.Path = "/"
		if r.URL.Path == "/login" {
			p.Path = "/login"
		}
		for _, it := range p.Nav {
			if it.Current {
				p.Path = it.Href
			}
		}
	}
	return p
}

// render executes page name with data into rw with status.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name, titleKey string, data any, fl ...flash) {
	p := w.newPage(r, titleKey, data)
	p.Flash = fl
	w.write(rw, r, status, name, p)
}

func (w *Web) write(rw http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t := w.pages[name]
	var buf bytes.Buffer
	if t == nil {
		w.log.Error("web: no template", "name", name)
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		w.log.Error("web: template", "name", name, "request_id", requestID(r), "err", err)
		if name != "error" {
			w.renderError(rw, r, http.StatusInternalServerError, p.L.T("err.internal", requestID(r)))
			return
		}
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", string(p.L))
	h.Set("Vary", "Accept-Language, Cookie")
	// Pages can hold codes and addresses: never kept in a cache.
	h.Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	rw.Write(buf.Bytes())
}

type errorData struct {
	Status  int
	Message string
}

// renderError shows a plain-words error page.
func (w *Web) renderError(rw http.ResponseWriter, r *http.Request, status int, msg string) {
	p := w.newPage(r, "err.title", &errorData{Status: status, Message: msg})
	p.Title = fmt.Sprintf("%s (%d)", p.Title, status)
	w.write(rw, r, status, "error", p)
}
