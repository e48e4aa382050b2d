package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

func (s *Server) codeBatch(w http.ResponseWriter, r *http.Request) error {
	var in codebook.Spec
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	spec, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, requestHash(spec), func() (int, any, error) {
		out, err := s.codes.Generate(r.Context(), in, actor(r))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, map[string]any{"codes": out}, nil
	})
}

func (s *Server) codeList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, after, err := idPageParams(r, 100000, store.CodeMaxLimit, "after")
	if err != nil {
		return err
	}
	f := store.CodeFilter{Status: model.CodeStatus(q.Get("status")), Group: q.Get("group"), Email: strings.ToLower(q.Get("email")),
		Batch: q.Get("batch"), Limit: limit + 1, After: after}
	if c := q.Get("code"); c != "" {
		// Search by (the end of) a code: its last four characters, read
		// the way redeem reads codes.
		norm := strings.NewReplacer("-", "", " ", "", "I", "1", "L", "1", "O", "0").Replace(strings.ToUpper(c))
		if len(norm) < 4 {
			return badRequest("code: give at least the last 4 characters of the code")
		}
		f.Hint = norm[len(norm)-4:]
	}
	sees := seesCodes(r)
	id := func(c model.Code) int64 { return c.ID }
	if wantsCSV(r) && wholeExport(r) {
		// Without a limit the file holds every matching code, read
		// exportChunk at a time (a CSV carries no next cursor).
		return writeCSV(w, "berth-codes.csv", codeCSVHeader, keysetChunks(after, func(from int64, n int) ([]model.Code, error) {
			g := f
			g.After, g.Limit = from, n
			return s.rd.CodeList(r.Context(), g)
		}, id), codeCSVRow(sees))
	}
	items, err := s.rd.CodeList(r.Context(), f)
	if err != nil {
		return err
	}
	items, next := idPage(items, limit, store.CodeMaxLimit, id)
	if wantsCSV(r) {
		// With a limit, one page, as the JSON listing answers it.
		return writeCSV(w, "berth-codes.csv", codeCSVHeader, onePage(items), codeCSVRow(sees))
	}
	if !sees {
		for i := range items {
			items[i].Display = ""
		}
	}
	writePage(w, items, next)
	return nil
}

var codeCSVHeader = []string{"code", "group", "status", "max_uses", "used_count", "bound_email", "valid_for", "expires_at", "ends_at", "rebind_limit", "rebind_count", "batch", "created_at", "hint"}

// codeCSVRow is a code's CSV row: the code is empty for viewers (sees
// false); the hint (its last four characters) is there for everyone.
func codeCSVRow(sees bool) func(c model.Code) []string {
	return func(c model.Code) []string {
		code := c.Display
		if !sees {
			code = ""
		}
		return []string{code, csvSafe(c.Group), string(c.Status), strconv.Itoa(c.MaxUses), strconv.Itoa(c.UsedCount), csvSafe(c.BoundEmail),
			time.Duration(c.ValidFor).String(), csvTime(c.ExpiresAt), csvTime(c.EndsAt), strconv.Itoa(c.RebindLimit), strconv.Itoa(c.RebindCount),
			csvSafe(c.Batch), csvTime(c.CreatedAt), c.Hint}
	}
}

// seesCodes reports whether the caller may read redeem codes in full:
// operators and above (who hand them out). Viewers see the hint, the last
// four characters, as the console shows them.
func seesCodes(r *http.Request) bool {
	u, _ := auth.FromContext(r.Context())
	return u.Role.Allows(auth.RoleOperator)
}

// csvSafe defuses spreadsheet formulas in user-provided text.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) codeGet(w http.ResponseWriter, r *http.Request) error {
	norm, err := codes.Normalize(r.PathValue("code"))
	if err != nil {
		return badRequest(err.Error())
	}
	c, err := s.rd.CodeByLookup(r.Context(), norm, false)
	if err != nil {
		return err
	}
	hist, err := s.rd.HistoryList(r.Context(), store.HistoryFilter{CodeID: c.ID, Limit: 1000})
	if err != nil {
		return err
	}
	if !seesCodes(r) {
		c.Display = ""
	}
	writeJSON(w, 200, map[string]any{"code": c, "history": hist})
	return nil
}

func (s *Server) codeUpdate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status string `json:"status"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	c, err := s.codes.SetStatus(r.Context(), r.PathValue("code"), model.CodeStatus(in.Status), actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, c)
	return nil
}

func (s *Server) seatMove(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return badRequest("seat id must be an integer")
	}
	var in struct {
		To string `json:"to"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
			return err
		}
	}
	o, err := s.svc.MoveSeat(r.Context(), id, in.To, actor(r))
	if err != nil {
		return err
	}
	follow := movesFollow
	if seat, err := s.rd.SeatGet(r.Context(), id); err == nil {
		follow = s.seatFollow(r.Context(), seat)
	}
	ans := map[string]any{"status": o.Status, "pool": o.Pool, "position": o.Position, "reason": o.Reason}
	if o.Why != nil {
		ans["why"] = o.Why
	}
	if o.Status == alloc.OutcomeQueued {
		ans["would_fit"] = queuedWouldFit(o.WouldFit)
	}
	writeAccepted(w, follow, ans)
	return nil
}

func (s *Server) migrationRun(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		From   []string `json:"from"`
		To     string   `json:"to"`
		DryRun bool     `json:"dry_run"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	res, err := s.svc.Migrate(r.Context(), in.From, in.To, in.DryRun, actor(r))
	if err != nil {
		return err
	}
	if in.DryRun {
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	writeAccepted(w, movesFollow, res)
	return nil
}

func (s *Server) moveList(w http.ResponseWriter, r *http.Request) error {
	limit, before, err := idPageParams(r, 1000, 0, "")
	if err != nil {
		return err
	}
	items, err := s.rd.MoveListBefore(r.Context(), model.MoveState(r.URL.Query().Get("state")), before, limit+1)
	if err != nil {
		return err
	}
	items, next := idPage(items, limit, 0, func(m model.Move) int64 { return m.ID })
	writePage(w, items, next)
	return nil
}
