package api

// Sign-in for scripts, users, personal API tokens and the audit log.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
)

const maxAuthBody = 16 << 10

// authErr maps the errors of package auth to HTTP statuses.
func authErr(w http.ResponseWriter, err error) error {
	var le *auth.LockedError
	var re *auth.RateError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(le.RetryAfter().Seconds()+0.999))))
		return errStatus(http.StatusTooManyRequests, le.Error())
	case errors.As(err, &re):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(re.RetryAfter().Seconds()+0.999))))
		return errStatus(http.StatusTooManyRequests, re.Error())
	case isAuthFailure(err):
		w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
		return errStatus(http.StatusUnauthorized, err.Error())
	case errors.Is(err, auth.ErrInvalid):
		return errStatus(http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), auth.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrLastAdmin):
		return errStatus(http.StatusConflict, err.Error())
	}
	return err
}

// ---- session --------------------------------------------------------------

// LoginRequest is the body of POST /api/v1/session.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) sessionCreate(w http.ResponseWriter, r *http.Request) error {
	var in LoginRequest
	if err := decodeJSON(w, r, maxAuthBody, &in); err != nil {
		return err
	}
	if in.Username == "" || in.Password == "" {
		return errStatus(http.StatusUnprocessableEntity, "username and password are required")
	}
	token, u, err := s.auth.Login(r.Context(), in.Username, in.Password, auth.RemoteIP(r))
	if err != nil {
		return authErr(w, err)
	}
	auth.SetSessionCookie(w, r, token)
	writeJSON(w, http.StatusOK, map[string]any{"user": u, "idle_timeout_seconds": int(s.auth.SessionIdle().Seconds())})
	return nil
}

func (s *Server) sessionGet(w http.ResponseWriter, r *http.Request) error {
	u, _ := auth.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}

func (s *Server) sessionDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.Logout(r.Context(), auth.SessionToken(r)); err != nil {
		return err
	}
	auth.ClearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- users ----------------------------------------------------------------

// UserCreateRequest is the body of POST /api/v1/users.
type UserCreateRequest struct {
	Username string `json:"username"`
	// Name is the deprecated old name of Username, still read for one
	// release; given with a different Username it is refused (422).
	Name     string    `json:"name"`
	Password string    `json:"password"`
	Role     auth.Role `json:"role"`
}

// username returns the login name, from username or the deprecated name.
func (in UserCreateRequest) username() (string, error) {
	if in.Username != "" && in.Name != "" && in.Username != in.Name {
		return "", errStatus(http.StatusUnprocessableEntity, "username and name (its deprecated alias) disagree: give only username")
	}
	if in.Username != "" {
		return in.Username, nil
	}
	return in.Name, nil
}

// UserPatch is the body of PATCH /api/v1/users/{id}; fields left out stay.
type UserPatch struct {
	Role     *auth.Role `json:"role"`
	Password *string    `json:"password"`
	Disabled *bool      `json:"disabled"`
}

func (s *Server) userList(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := idPageParams(r, 1000, 0, "")
	if err != nil {
		return err
	}
	items, err := s.auth.ListUsers(r.Context())
	if err != nil {
		return err
	}
	items, next := idPage(afterID(items, after, func(u auth.UserInfo) int64 { return u.ID }), limit, 0, func(u auth.UserInfo) int64 { return u.ID })
	writePage(w, items, next)
	return nil
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request) error {
	var in UserCreateRequest
	if err := decodeJSON(w, r, maxAuthBody, &in); err != nil {
		return err
	}
	name, err := in.username()
	if err != nil {
		return err
	}
	u, err := s.auth.CreateUser(r.Context(), name, in.Password, in.Role)
	if err != nil {
		return authErr(w, err)
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := positiveID(r, "id", "id")
	if err != nil {
		return err
	}
	var in UserPatch
	if err := decodeJSON(w, r, maxAuthBody, &in); err != nil {
		return err
	}
	if in.Role == nil && in.Password == nil && in.Disabled == nil {
		return errStatus(http.StatusUnprocessableEntity, "nothing to change: give role, password or disabled")
	}
	ctx := r.Context()
	if _, err := s.auth.GetUser(ctx, id); err != nil {
		return err
	}
	// Validate everything before changing anything.
	if in.Role != nil && !in.Role.Valid() {
		return errStatus(http.StatusUnprocessableEntity, "role "+strconv.Quote(string(*in.Role))+": use viewer, operator or admin")
	}
	if in.Password != nil {
		if err := auth.CheckPassword(*in.Password); err != nil {
			return authErr(w, err)
		}
	}
	if in.Role != nil {
		if err := s.auth.SetRole(ctx, id, *in.Role); err != nil {
			return authErr(w, err)
		}
	}
	if in.Disabled != nil {
		if err := s.auth.SetDisabled(ctx, id, *in.Disabled); err != nil {
			return authErr(w, err)
		}
	}
	if in.Password != nil {
		if err := s.auth.SetPassword(ctx, id, *in.Password); err != nil {
			return authErr(w, err)
		}
	}
	u, err := s.auth.GetUser(ctx, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) userDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := positiveID(r, "id", "id")
	if err != nil {
		return err
	}
	if err := s.auth.DeleteUser(r.Context(), id); err != nil {
		return authErr(w, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- personal API tokens ----------------------------------------------------

func (s *Server) tokenList(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := idPageParams(r, 1000, 0, "")
	if err != nil {
		return err
	}
	u, _ := auth.FromContext(r.Context())
	items := []auth.Token{}
	if u.ID != 0 {
		if items, err = s.auth.ListTokens(r.Context(), u.ID); err != nil {
			return err
		}
	}
	items, next := idPage(afterID(items, after, func(t auth.Token) int64 { return t.ID }), limit, 0, func(t auth.Token) int64 { return t.ID })
	writePage(w, items, next)
	return nil
}

// TokenCreated answers POST /api/v1/tokens: the only time the token is shown.
type TokenCreated struct {
	auth.Token
	Secret string `json:"token"`
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, maxAuthBody, &in); err != nil {
		return err
	}
	u, _ := auth.FromContext(r.Context())
	secret, t, err := s.auth.CreateToken(r.Context(), u.ID, in.Name)
	if err != nil {
		return authErr(w, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, TokenCreated{Token: t, Secret: secret})
	return nil
}

func (s *Server) tokenDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := positiveID(r, "id", "id")
	if err != nil {
		return err
	}
	u, _ := auth.FromContext(r.Context())
	if err := s.auth.RevokeToken(r.Context(), u.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- audit log ------------------------------------------------------------

func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, badRequest(name + " must be an RFC 3339 time such as 2024-06-01T00:00:00Z, got " + strconv.Quote(v))
	}
	return t, nil
}

var auditCSVHeader = []string{"id", "at", "actor", "action", "target", "status", "remote_ip", "before", "after", "request"}

func auditCSVRow(e store.AuditEntry) []string {
	return []string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), csvSafe(e.Actor), csvSafe(e.Action), csvSafe(e.Target),
		strconv.Itoa(e.Status), csvSafe(e.RemoteIP), csvSafe(string(e.Before)), csvSafe(string(e.After)), csvSafe(string(e.Request))}
}

func (s *Server) auditList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, before, err := idPageParams(r, 500, store.AuditMaxLimit, "before")
	if err != nil {
		return err
	}
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), BeforeID: before, Limit: limit + 1}
	if f.Since, err = timeParam(r, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(r, "until"); err != nil {
		return err
	}
	id := func(e store.AuditEntry) int64 { return e.ID }
	if wantsCSV(r) && wholeExport(r) {
		// Without a limit the file holds every matching row, newest first,
		// read exportChunk at a time (a CSV carries no next cursor).
		return writeCSV(w, "berth-audit.csv", auditCSVHeader, keysetChunks(before, func(from int64, n int) ([]store.AuditEntry, error) {
			g := f
			g.BeforeID, g.Limit = from, n
			return s.auth.AuditList(r.Context(), g)
		}, id), auditCSVRow)
	}
	items, err := s.auth.AuditList(r.Context(), f)
	if err != nil {
		return err
	}
	items, next := idPage(items, limit, store.AuditMaxLimit, id)
	if wantsCSV(r) {
		// With a limit, one page, as the JSON listing answers it.
		return writeCSV(w, "berth-audit.csv", auditCSVHeader, onePage(items), auditCSVRow)
	}
	writePage(w, items, next)
	return nil
}
