// Package web serves berth's browser console: the admin pages under /admin
// (sign-in required, roles enforced), the public redeem and status pages,
// and sign-in and sign-out. Pages are rendered on the server with
// html/template from files embedded in the binary; a small hand-written
// script adds the dialogs and the upload progress. Every user-visible string
// goes through the message catalogue (English and Simplified Chinese).
//
// Handlers read through the store and act through alloc.Service, like the
// JSON API's handlers: no allocation rule lives here.
package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/alloc/plans"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/reqid"
	"github.com/berthhq/berth/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Web is the browser console.
type Web struct {
	svc *alloc.Service
	// poolAdmin and codeBook administer pools and redeem codes beside svc.
	poolAdmin *pooladmin.Service
	codeBook  *codebook.Service
	// plans makes and applies plans (plans.go).
	plans *plans.Service
	// rd is the store's read pool: the console reads through it and
	// writes through svc.
	rd    *store.Queries
	authn auth.Authenticator
	// guard checks the role of the admin routes and audits them (when
	// authn also writes the audit log).
	guard *httpx.Guard
	log   *slog.Logger

	pages   map[string]*template.Template
	mux     *http.ServeMux
	handler http.Handler
	public  *httpx.Limiter
	// results holds what actions show once after their redirect.
	results results
	// checker runs pools' "test connection" jobs (SetChecker).
	checker PoolChecker
	// chartReads keeps the dashboard's long-range chart reads (chart.go).
	chartReads chartCache
	// prefix is the path berth is served under ("" at the root, else
	// "/berth" without a trailing slash; SetBasePath).
	prefix string
}

// SetBasePath sets the path prefix berth is served under ("" at the
// root; internal/app takes it from BERTH_BASE_URL). Every link, form
// action, asset and script address a template writes starts with it
// ({{base}}); redirects and cookies get it from the front door
// (internal/app/basepath.go). Call before serving.
func (w *Web) SetBasePath(prefix string) { w.prefix = prefix }

// BasePath is the prefix SetBasePath set: the templates' {{base}}.
func (w *Web) BasePath() string { return w.prefix }

// Route is one entry of the console's route table: the shared entry
// (method, path, public or least role, limited; package httpx) and its
// handler.
type Route struct {
	httpx.Route
	handler http.HandlerFunc
}

// New builds the console. authn signs users in; with a nil authn every
// sign-in fails and admin pages stay closed.
func New(svc *alloc.Service, authn auth.Authenticator, log *slog.Logger) *Web {
	if log == nil {
		log = slog.Default()
	}
	w := &Web{svc: svc, rd: svc.Store().Reader(), authn: authn, log: log, pages: map[string]*template.Template{},
		public: httpx.NewLimiter(DefaultFormRate, DefaultFormBurst)}
	w.poolAdmin, w.codeBook = pooladmin.New(svc.Store(), svc), codebook.New(svc.Store(), svc)
	w.plans = plans.New(svc.Store(), svc)
	w.guard = &httpx.Guard{Authenticate: w.authenticate, Refuse: w.refuse, Audit: &httpx.Audit{Prefix: "web: ", Describe: describeAudit}}
	if a, ok := authn.(httpx.Auditor); ok {
		// Every console action (and every refused attempt) goes to the
		// same audit log as the API's.
		w.guard.Audit.Auditor = a
	}
	w.parseTemplates()
	w.mux = http.NewServeMux()
	httpx.Mount(w.mux, w.Routes(), w.wrap)
	static, _ := fs.Sub(assetFS, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(static))
	w.mux.Handle("GET /assets/", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			w.notFound(rw, r) // no directory listings
			return
		}
		rw.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(rw, r)
	}))
	w.mux.HandleFunc("/", w.notFound)

	cop := httpx.CrossOrigin(httpx.Refuse(w.refuse).With(http.StatusForbidden, httpx.ErrCrossSite))
	w.handler = cop.Handler(w.base(w.mux))
	return w
}

// Handler serves the console. It refuses cross-site state-changing
// requests (http.CrossOriginProtection).
func (w *Web) Handler() http.Handler { return w.handler }

// Prefixes are the paths the console owns; Mount registers them.
var Prefixes = []string{"/{$}", "/login", "/logout", "/lang", "/admin", "/admin/", "/redeem", "/status", "/status/", "/assets/"}

// Mount registers the console's paths on mux, beside other handlers (the
// JSON API owns everything else).
func (w *Web) Mount(mux *http.ServeMux) {
	for _, p := range Prefixes {
		mux.Handle(p, w.handler)
	}
}

// Routes is the console's route table, in one place.
func (w *Web) Routes() []Route {
	const (
		viewer   = auth.RoleViewer
		operator = auth.RoleOperator
		admin    = auth.RoleAdmin
	)
	return []Route{
		{Route: httpx.Route{Method: "GET", Path: "/{$}", Public: true}, handler: w.root},
		{Route: httpx.Route{Method: "GET", Path: "/login", Public: true}, handler: w.loginForm},
		{Route: httpx.Route{Method: "POST", Path: "/login", Public: true}, handler: w.login},
		{Route: httpx.Route{Method: "POST", Path: "/logout", Public: true}, handler: w.logout},
		{Route: httpx.Route{Method: "GET", Path: "/lang", Public: true}, handler: w.setLang},

		{Route: httpx.Route{Method: "GET", Path: "/redeem", Public: true}, handler: w.blankForm("redeem", "redeem.title")},
		{Route: httpx.Route{Method: "POST", Path: "/redeem", Public: true, Limited: true}, handler: w.redeem},
		{Route: httpx.Route{Method: "GET", Path: "/status", Public: true}, handler: w.blankForm("status", "status.title")},
		{Route: httpx.Route{Method: "POST", Path: "/status", Public: true, Limited: true}, handler: w.status},
		{Route: httpx.Route{Method: "POST", Path: "/status/move", Public: true, Limited: true}, handler: w.move},

		{Route: httpx.Route{Method: "GET", Path: "/admin", Role: viewer}, handler: w.adminRedirect},
		{Route: httpx.Route{Method: "GET", Path: "/admin/{$}", Role: viewer}, handler: w.dashboard},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers", Role: viewer}, handler: w.pools("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/status", Role: operator}, handler: w.poolStatus("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/{id}/drain", Role: operator}, handler: w.poolDrain("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers/{id}/drain", Role: viewer}, handler: w.drainPage("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers/{id}/drain/progress", Role: viewer}, handler: w.drainJSON("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers/new", Role: admin}, handler: w.poolNew("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/new", Role: admin}, handler: w.poolCreate("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers/{id}/edit", Role: admin}, handler: w.poolEdit("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/{id}/edit", Role: admin}, handler: w.poolUpdate("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/{id}/check", Role: operator}, handler: w.poolCheck("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers/{id}/check/{job}", Role: operator}, handler: w.poolCheckPage("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams", Role: viewer}, handler: w.pools("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/status", Role: operator}, handler: w.poolStatus("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/{id}/drain", Role: operator}, handler: w.poolDrain("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams/{id}/drain", Role: viewer}, handler: w.drainPage("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams/{id}/drain/progress", Role: viewer}, handler: w.drainJSON("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams/new", Role: admin}, handler: w.poolNew("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/new", Role: admin}, handler: w.poolCreate("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams/{id}/edit", Role: admin}, handler: w.poolEdit("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/{id}/edit", Role: admin}, handler: w.poolUpdate("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/{id}/check", Role: operator}, handler: w.poolCheck("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams/{id}/check/{job}", Role: operator}, handler: w.poolCheckPage("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers/migrate", Role: operator}, handler: w.migratePlan("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/migrate", Role: operator}, handler: w.migrateStart("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers/migration", Role: viewer}, handler: w.migrationPage("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/servers/migration/progress", Role: viewer}, handler: w.migrationJSON("server")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams/migrate", Role: operator}, handler: w.migratePlan("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/migrate", Role: operator}, handler: w.migrateStart("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams/migration", Role: viewer}, handler: w.migrationPage("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/teams/migration/progress", Role: viewer}, handler: w.migrationJSON("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/accounts", Role: viewer}, handler: w.accounts},
		{Route: httpx.Route{Method: "GET", Path: "/admin/seats", Role: viewer}, handler: w.seats},
		{Route: httpx.Route{Method: "POST", Path: "/admin/seats/{id}/move", Role: operator}, handler: w.seatMove},
		{Route: httpx.Route{Method: "POST", Path: "/admin/seats/{id}/release", Role: operator}, handler: w.seatRelease},
		{Route: httpx.Route{Method: "GET", Path: "/admin/codes", Role: viewer}, handler: w.codes},
		{Route: httpx.Route{Method: "POST", Path: "/admin/codes/generate", Role: operator}, handler: w.codesGenerate},
		{Route: httpx.Route{Method: "POST", Path: "/admin/codes/status", Role: operator}, handler: w.codeStatus},
		{Route: httpx.Route{Method: "GET", Path: "/admin/queue", Role: viewer}, handler: w.queue},
		{Route: httpx.Route{Method: "POST", Path: "/admin/queue/cancel", Role: operator}, handler: w.queueCancel},
		{Route: httpx.Route{Method: "GET", Path: "/admin/history", Role: viewer}, handler: w.history},
		{Route: httpx.Route{Method: "GET", Path: "/admin/audit", Role: admin}, handler: w.audit},
		{Route: httpx.Route{Method: "GET", Path: "/admin/integrity", Role: viewer}, handler: w.integrity},
		{Route: httpx.Route{Method: "POST", Path: "/admin/integrity/repair", Role: operator}, handler: w.integrityRepair},
		{Route: httpx.Route{Method: "POST", Path: "/admin/integrity/repair/plan", Role: operator}, handler: w.planRepair},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/status/plan", Role: operator}, handler: w.planPoolStatus("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/status/plan", Role: operator}, handler: w.planPoolStatus("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/{id}/drain/plan", Role: operator}, handler: w.planDrain("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/{id}/drain/plan", Role: operator}, handler: w.planDrain("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/rebalance/plan", Role: operator}, handler: w.planRebalance("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/rebalance/plan", Role: operator}, handler: w.planRebalance("team")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/servers/placement", Role: operator}, handler: w.placementSet("server")},
		{Route: httpx.Route{Method: "POST", Path: "/admin/teams/placement", Role: operator}, handler: w.placementSet("team")},
		{Route: httpx.Route{Method: "GET", Path: "/admin/plans/{id}", Role: viewer}, handler: w.planPage},
		{Route: httpx.Route{Method: "POST", Path: "/admin/plans/{id}/apply", Role: operator}, handler: w.planApply},
		{Route: httpx.Route{Method: "POST", Path: "/admin/plans/{id}/cancel", Role: operator}, handler: w.planCancel},
		{Route: httpx.Route{Method: "GET", Path: "/admin/users", Role: admin}, handler: w.users},
	}
}

func requestID(r *http.Request) string { return reqid.From(r.Context()) }

// base adds a request id, security headers and panic recovery: a failure
// shows a plain page with the request id, never a stack trace.
func (w *Web) base(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id := reqid.New()
		ctx := reqid.With(r.Context(), id)
		r = r.WithContext(auth.WithRemoteIP(ctx, auth.RemoteIP(r)))
		h := rw.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		// Pages hold codes, sign-in forms and sessions' views: never kept
		// by a browser or proxy. /assets/ sets its own.
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				w.log.Error("web: panic", "request_id", id, "path", r.URL.Path, "panic", v)
				w.renderError(rw, r, http.StatusInternalServerError, w.lang(r).T("err.internal", id))
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

func (w *Web) notFound(rw http.ResponseWriter, r *http.Request) {
	// A known page asked with another method: 405 with the methods the
	// route table has for it.
	if allow := httpx.Allowed(w.mux, w.Routes(), r); len(allow) > 0 {
		rw.Header().Set("Allow", strings.Join(allow, ", "))
		w.renderError(rw, r, http.StatusMethodNotAllowed, w.lang(r).T("err.wrong_method"))
		return
	}
	w.renderError(rw, r, http.StatusNotFound, w.lang(r).T("err.page_not_found"))
}

// sessionUser returns the signed-in user, if any.
func (w *Web) sessionUser(r *http.Request) (auth.User, string, bool) {
	if w.authn == nil {
		return auth.User{}, "", false
	}
	token := auth.SessionToken(r) // __Host-berth_session on secure requests
	if token == "" {
		return auth.User{}, "", false
	}
	u, err := w.authn.Session(r.Context(), token)
	if err != nil || !u.Role.Valid() {
		return auth.User{}, token, false
	}
	return u, token, true
}

// wrap puts a route's middleware around its handler: the per-address limit
// of the public forms, the role check and the audit row of admin routes.
func (w *Web) wrap(rt Route) http.Handler {
	h := http.Handler(rt.handler)
	if rt.Limited {
		h = w.public.Handler(w.refuse, h)
	}
	if !rt.Public {
		h = w.guard.Handler(rt.Route, w.guard.Audit.Handler(rt.Route, h))
	}
	return h
}

// authenticate is the caller of an admin route: the signed-in user.
func (w *Web) authenticate(r *http.Request) (auth.User, error) {
	u, _, ok := w.sessionUser(r)
	if !ok {
		return auth.User{}, auth.ErrNoSession
	}
	return u, nil
}

// refuse answers what the shared layer (httpx) refused, as a page. A
// visitor without a session is sent to the sign-in page (and back, for a
// GET); a user whose role is too small gets a 403 page; a public form over
// the per-address limit is shown again with the error; a cross-site request
// (httpx.ErrCrossSite) gets a 403 page.
func (w *Web) refuse(rw http.ResponseWriter, r *http.Request, status int, err error) {
	l := w.lang(r)
	var re *httpx.RoleError
	switch {
	case status == http.StatusUnauthorized:
		target := "/login"
		if r.Method == http.MethodGet {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(rw, r, target, http.StatusSeeOther)
	case errors.As(err, &re):
		w.renderError(rw, r, status, l.T("err.role", l.T("role."+string(re.User.Role)), l.T("role."+string(re.Route.Role))))
	case status == http.StatusTooManyRequests:
		page := "status"
		if r.URL.Path == "/redeem" {
			page = "redeem"
		}
		w.render(rw, r, status, page, page+".title", &publicData{Error: l.T("err.too_many")})
	default:
		w.renderError(rw, r, status, l.T("err.cross_origin"))
	}
}

// localPath accepts only a path on this site (no scheme, no host), so the
// sign-in and language redirects cannot send anyone elsewhere.
func localPath(p, def string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return def
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return def
	}
	return p
}

func remoteIP(r *http.Request) string { return auth.RemoteIP(r) }

func (w *Web) root(rw http.ResponseWriter, r *http.Request) {
	if _, _, ok := w.sessionUser(r); ok {
		http.Redirect(rw, r, "/admin/", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/redeem", http.StatusSeeOther)
}

func (w *Web) adminRedirect(rw http.ResponseWriter, r *http.Request) {
	http.Redirect(rw, r, "/admin/", http.StatusSeeOther)
}

func (w *Web) setLang(rw http.ResponseWriter, r *http.Request) {
	l := parseLang(r.URL.Query().Get("to"))
	http.SetCookie(rw, &http.Cookie{Name: langCookie, Value: string(l), Path: auth.CookiePath(r), MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: auth.Secure(r)})
	http.Redirect(rw, r, localPath(r.URL.Query().Get("next"), "/"), http.StatusSeeOther)
}

type loginData struct {
	Next, Username, Error string
}

func (w *Web) loginForm(rw http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"), "/admin/")
	if _, _, ok := w.sessionUser(r); ok {
		http.Redirect(rw, r, next, http.StatusSeeOther)
		return
	}
	w.render(rw, r, http.StatusOK, "login", "login.title", &loginData{Next: next})
}

func (w *Web) login(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		w.renderError(rw, r, http.StatusBadRequest, w.lang(r).T("err.form"))
		return
	}
	l := w.lang(r)
	d := &loginData{Next: localPath(r.PostForm.Get("next"), "/admin/"), Username: strings.TrimSpace(r.PostForm.Get("username"))}
	password := r.PostForm.Get("password")
	if d.Username == "" || password == "" {
		d.Error = l.T("login.missing")
		w.render(rw, r, http.StatusUnprocessableEntity, "login", "login.title", d)
		return
	}
	if w.authn == nil {
		d.Error = l.T("login.unavailable")
		w.render(rw, r, http.StatusServiceUnavailable, "login", "login.title", d)
		return
	}
	token, _, err := w.authn.Login(r.Context(), d.Username, password, remoteIP(r))
	if err != nil {
		status := http.StatusUnauthorized
		d.Error = l.T("login.failed")
		// Locked users and addresses over the limit say how long to wait.
		var wait interface{ RetryAfter() time.Duration }
		if errors.As(err, &wait) {
			secs := int(wait.RetryAfter().Seconds() + 0.999)
			status = http.StatusTooManyRequests
			rw.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			if secs > 90 {
				d.Error = l.T("login.wait_minutes", (secs+59)/60)
			} else {
				d.Error = l.T("login.rate", max(secs, 1))
			}
		}
		w.log.Info("web: sign-in refused", "user", d.Username, "ip", remoteIP(r), "err", err)
		w.render(rw, r, status, "login", "login.title", d)
		return
	}
	// HttpOnly, SameSite=Lax, Path=/, Secure behind TLS: the API's cookie.
	auth.SetSessionCookie(rw, r, token)
	http.Redirect(rw, r, d.Next, http.StatusSeeOther)
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request) {
	if token := auth.SessionToken(r); token != "" && w.authn != nil {
		if err := w.authn.Logout(r.Context(), token); err != nil {
			w.log.Warn("web: sign-out", "err", err)
		}
	}
	auth.ClearSessionCookie(rw, r)
	http.Redirect(rw, r, "/login", http.StatusSeeOther)
}
