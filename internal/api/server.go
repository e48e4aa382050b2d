// Package api serves berth's HTTP API: the admin JSON routes under /api/v1,
// the public routes under /api/v1/public, the OpenAPI document and its docs
// page, health and readiness. Handlers decode, call package alloc, and
// encode; every rule lives in alloc.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/alloc/plans"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/reconcile"
	"github.com/berthhq/berth/internal/reqid"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/upload"
)

// Server is the HTTP API.
type Server struct {
	svc *alloc.Service
	// pools and codes administer pools and redeem codes beside svc.
	pools *pooladmin.Service
	codes *codebook.Service
	// plans makes and applies plans (plans.go).
	plans *plans.Service
	// st is the whole store, for /metrics and readiness only; handlers
	// read through rd (the read pool) and write through svc.
	st     *store.Store
	rd     *store.Queries
	auth   *auth.Service
	log    *slog.Logger
	Limits upload.Limits
	mux    *http.ServeMux
	cop    *http.CrossOriginProtection
	guard  *httpx.Guard

	metricsHandler http.Handler
	public         *httpx.Limiter
	// reconciler enqueues reconcile runs' jobs (SetReconciler).
	reconciler reconcile.Enqueuer
	// ready is what /readyz checks (ready.go).
	ready readiness
}

// Route is one entry of the route table: the shared entry (method, path,
// public or least role, audit and limit; see authz.go) and what the API
// adds to it.
type Route struct {
	httpx.Route
	Summary string
	handler func(http.ResponseWriter, *http.Request) error
	// bodyRole is the higher role the handler asks for (needRole) when the
	// body it decoded asks for more than Role allows: PATCH
	// /api/v1/pools/{id} with provider settings needs admin. The check is
	// made on what the handler decoded, never on a second reading of the
	// body. Documentation only: it is the handler that refuses.
	bodyRole auth.Role
	// multipart routes take a multipart/form-data body; every other route
	// takes JSON (see checkBodyType).
	multipart bool
}

// AdminTokenSetting is where the admin token's hash is kept.
const AdminTokenSetting = "admin_token_sha256"

// EnsureAdminToken makes sure an admin token exists. With env set, that token
// is used (and its hash stored); otherwise a token is created on first start
// and returned once (created=true) for the caller to print.
func EnsureAdminToken(ctx context.Context, st *store.Store, env string) (token string, hash [32]byte, created bool, err error) {
	if env != "" {
		if len(env) < 16 {
			return "", hash, false, errors.New("BERTH_ADMIN_TOKEN must be at least 16 characters")
		}
		return env, sha256.Sum256([]byte(env)), false, nil
	}
	b := make([]byte, 24)
	rand.Read(b)
	token = "berth_" + hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	wrote, err := st.SettingSetOnce(ctx, AdminTokenSetting, hex.EncodeToString(sum[:]))
	if err != nil {
		return "", hash, false, err
	}
	if wrote {
		return token, sum, true, nil
	}
	stored, err := st.SettingGet(ctx, AdminTokenSetting)
	if err != nil {
		return "", hash, false, err
	}
	raw, err := hex.DecodeString(stored)
	if err != nil || len(raw) != 32 {
		return "", hash, false, errors.New("stored admin token hash is corrupt")
	}
	copy(hash[:], raw)
	return "", hash, false, nil
}

// Default per-address limit of the public routes (BERTH_PUBLIC_RATE,
// BERTH_PUBLIC_BURST change it).
const (
	DefaultPublicRate  = 20 // a second
	DefaultPublicBurst = 40
)

// SetPublicRate sets the per-address limit of the public routes.
func (s *Server) SetPublicRate(perSecond float64, burst int) { s.public.SetRate(perSecond, burst) }

// New builds the API server. authn knows the callers: the admin token (see
// EnsureAdminToken), users' sessions and personal API tokens.
func New(svc *alloc.Service, authn *auth.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{svc: svc, st: svc.Store(), auth: authn, log: log, Limits: upload.DefaultLimits}
	s.pools, s.codes = pooladmin.New(s.st, svc), codebook.New(s.st, svc)
	s.plans = plans.New(s.st, svc)
	if s.st != nil { // nil only in tests that serve the documents alone
		s.rd = s.st.Reader()
	}
	s.SetMetrics(metrics.Config{}) // observe.go: loopback only until configured
	s.public = httpx.NewLimiter(DefaultPublicRate, DefaultPublicBurst)
	s.cop = httpx.CrossOrigin(httpx.Refuse(refuse).With(http.StatusForbidden, httpx.ErrCrossSite))
	s.guard = &httpx.Guard{Authenticate: authn.Authenticate, Refuse: refuse,
		Audit: &httpx.Audit{Auditor: authn, Describe: describeAudit}}
	s.mux = http.NewServeMux()
	routes := s.Routes()
	httpx.Mount(s.mux, routes, s.wrap)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// A known path asked with another method: 405 with the methods
		// the table has for it.
		if allow := httpx.Allowed(s.mux, routes, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, r, errStatus(http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path+" is not served; allowed: "+strings.Join(allow, ", ")))
			return
		}
		writeProblem(w, r, errStatus(http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path+"; see /openapi.json"))
	})
	return s
}

// Routes is the route table: every route berth serves, in one place, with
// the role each needs. Reads need viewer; changes need operator; users,
// the audit log and provider secrets (creating a pool, or changing a pool's
// provider settings: poolUpdate asks for admin when the body it decoded
// has a provider) need admin. Personal tokens and the session are the caller's
// own, so any signed-in role manages them.
func (s *Server) Routes() []Route {
	const (
		viewer   = auth.RoleViewer
		operator = auth.RoleOperator
		admin    = auth.RoleAdmin
	)
	return []Route{
		{Route: httpx.Route{Method: "GET", Path: "/healthz", Public: true}, Summary: "process is up", handler: s.healthz},
		{Route: httpx.Route{Method: "GET", Path: "/readyz", Public: true}, Summary: "ready for traffic: not shutting down, database, key, jobs", handler: s.readyz},
		{Route: httpx.Route{Method: "GET", Path: "/metrics", Public: true}, Summary: "Prometheus metrics", handler: s.metrics},
		{Route: httpx.Route{Method: "GET", Path: "/openapi.json", Public: true}, Summary: "this API's OpenAPI document", handler: s.openapi},
		{Route: httpx.Route{Method: "GET", Path: "/docs", Public: true}, Summary: "API docs page", handler: s.docs},

		{Route: httpx.Route{Method: "POST", Path: "/api/v1/pools", Role: admin}, Summary: "create a pool", handler: s.poolCreate},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/pools", Role: viewer}, Summary: "list pools", handler: s.poolList},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/pools/{id}", Role: viewer}, Summary: "get a pool", handler: s.poolGet},
		{Route: httpx.Route{Method: "PATCH", Path: "/api/v1/pools/{id}", Role: operator}, Summary: "change a pool", handler: s.poolUpdate, bodyRole: admin},
		{Route: httpx.Route{Method: "PATCH", Path: "/api/v1/pools/status", Role: operator}, Summary: "set the status of many pools", handler: s.poolStatus},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/pools/{id}/drain", Role: operator}, Summary: "move every member off a pool", handler: s.poolDrain},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/pools/{id}/reconcile", Role: operator}, Summary: "compare a team's provider with its seats (a job)", handler: s.poolReconcile},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/pools/{id}/reconcile/{run}", Role: operator}, Summary: "a reconcile run and its report", handler: s.poolReconcileRun},

		{Route: httpx.Route{Method: "POST", Path: "/api/v1/accounts/batch", Role: operator}, Summary: "import credential files and place the accounts", handler: s.accountBatch, multipart: true},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/accounts", Role: viewer}, Summary: "list accounts", handler: s.accountList},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/seats", Role: viewer}, Summary: "list seats", handler: s.seatList},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/seats/{id}/release", Role: operator}, Summary: "release a seat", handler: s.seatRelease},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/queue", Role: viewer}, Summary: "list the waiting queue", handler: s.queueList},
		{Route: httpx.Route{Method: "DELETE", Path: "/api/v1/queue/{kind}/{member}", Role: operator}, Summary: "cancel a queue entry", handler: s.queueCancel},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/placement/simulate", Role: viewer, NoAudit: true}, Summary: "what-if: place today's queue under hypothetical pool changes, changing nothing", handler: s.placementSimulate},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/placement/settings", Role: viewer}, Summary: "the placement strategy stored per pool kind and group", handler: s.placementSettingsGet},
		{Route: httpx.Route{Method: "PUT", Path: "/api/v1/placement/settings", Role: operator}, Summary: "store (or remove) the placement strategy of a kind or group", handler: s.placementSettingsPut},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/history", Role: viewer}, Summary: "list history", handler: s.historyList},

		{Route: httpx.Route{Method: "POST", Path: "/api/v1/codes/batch", Role: operator}, Summary: "generate redeem codes", handler: s.codeBatch},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/codes", Role: viewer}, Summary: "list or export codes", handler: s.codeList},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/codes/{code}", Role: viewer}, Summary: "a code and its history", handler: s.codeGet},
		{Route: httpx.Route{Method: "PATCH", Path: "/api/v1/codes/{code}", Role: operator}, Summary: "disable or enable a code", handler: s.codeUpdate},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/seats/{id}/move", Role: operator}, Summary: "move a seat to another pool", handler: s.seatMove},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/moves", Role: viewer}, Summary: "list moves", handler: s.moveList},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/integrity", Role: viewer}, Summary: "check the invariants", handler: s.integrityGet},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/integrity/repair", Role: operator}, Summary: "release the extra seats of orphans", handler: s.integrityRepair},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/fleet/samples", Role: viewer}, Summary: "the fleet's use and queue over time", handler: s.fleetSamples},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/migrations", Role: operator}, Summary: "move every member off some pools (dry run first)", handler: s.migrationRun},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/plans", Role: operator}, Summary: "plan an action: the steps it would take, stored with what they rest on", handler: s.planCreate},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/plans/{id}", Role: viewer}, Summary: "a plan, and what applying it did", handler: s.planGet},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/plans/{id}/apply", Role: operator}, Summary: "apply a plan's steps, unless what they rest on changed", handler: s.planApply},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/plans/{id}/cancel", Role: operator}, Summary: "stop an applied plan's paced moves (a rebalance)", handler: s.planCancel},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/backup", Role: admin}, Summary: "a consistent copy of the SQLite database", handler: s.backupGet},

		{Route: httpx.Route{Method: "POST", Path: "/api/v1/session", Public: true}, Summary: "sign in", handler: s.sessionCreate},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/session", Role: viewer}, Summary: "who is signed in", handler: s.sessionGet},
		{Route: httpx.Route{Method: "DELETE", Path: "/api/v1/session", Role: viewer, NoAudit: true}, Summary: "sign out", handler: s.sessionDelete},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/users", Role: admin}, Summary: "list users", handler: s.userList},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/users", Role: admin}, Summary: "create a user", handler: s.userCreate},
		{Route: httpx.Route{Method: "PATCH", Path: "/api/v1/users/{id}", Role: admin}, Summary: "change a user's role, password or access", handler: s.userUpdate},
		{Route: httpx.Route{Method: "DELETE", Path: "/api/v1/users/{id}", Role: admin}, Summary: "delete a user", handler: s.userDelete},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/tokens", Role: viewer}, Summary: "list your personal API tokens", handler: s.tokenList},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/tokens", Role: viewer}, Summary: "create a personal API token", handler: s.tokenCreate},
		{Route: httpx.Route{Method: "DELETE", Path: "/api/v1/tokens/{id}", Role: viewer}, Summary: "revoke a personal API token", handler: s.tokenDelete},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/audit", Role: admin}, Summary: "read or export the audit log", handler: s.auditList},

		{Route: httpx.Route{Method: "POST", Path: "/api/v1/public/redeem", Public: true, Limited: true}, Summary: "redeem a code for a seat", handler: s.publicRedeem},
		{Route: httpx.Route{Method: "GET", Path: "/api/v1/public/status", Public: true, Limited: true}, Summary: "a seat's status", handler: s.publicStatus},
		{Route: httpx.Route{Method: "POST", Path: "/api/v1/public/rebind", Public: true, Limited: true}, Summary: "move to another team", handler: s.publicRebind},
	}
}

// ServeHTTP implements http.Handler with request ids, logging and recovery.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := reqid.FromClient(r.Header.Get("X-Request-Id"))
	r = r.WithContext(withLog(reqid.With(r.Context(), id), s.log))
	w.Header().Set("X-Request-Id", id)
	if !cacheable(r.URL.Path) {
		// Answers hold codes, sessions, tokens and pool state: no browser
		// or proxy keeps them.
		w.Header().Set("Cache-Control", "no-store")
	}
	start := time.Now()
	rec := httpx.NewStatusWriter(w)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				// An answer cut short on purpose (answerCutShort): net/http
				// drops the connection. A problem written here would end it
				// as if whole.
				panic(v)
			}
			s.log.Error("panic", "request_id", id, "panic", v)
			writeProblem(rec, r, errors.New("panic"))
		}
		// Only the route's pattern is logged: paths and query strings may
		// hold emails and codes.
		s.log.Debug("http", "method", r.Method, "path", r.Pattern, "status", rec.Status(), "ms", time.Since(start).Milliseconds(), "request_id", id)
	}()
	s.mux.ServeHTTP(rec, r)
}

func requestID(r *http.Request) string { return reqid.From(r.Context()) }

// cacheable: the only answers that may be kept are the API's own
// documents, the same for everyone. Everything else is sent with
// Cache-Control: no-store.
func cacheable(path string) bool { return path == "/docs" || path == "/openapi.json" }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, 200, map[string]string{"status": "ok"})
	return nil
}
