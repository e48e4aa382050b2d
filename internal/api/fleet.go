package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/fleet"
)

// maxSampleSpan bounds the range of GET /api/v1/fleet/samples (the
// samples live 90 days by default; a longer range reads nothing more, but
// an unbounded one would fold a year into few points for nobody).
const maxSampleSpan = 400 * 24 * time.Hour

// FleetSamples is the answer of GET /api/v1/fleet/samples.
type FleetSamples struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Step is the bucket the samples were folded into (a Go duration).
	Step   string         `json:"step"`
	Series []fleet.Series `json:"series"`
}

// timeOrAgoParam reads an optional time from the query string: RFC 3339, or a
// Go duration meaning that long before now. def when absent.
func timeOrAgoParam(r *http.Request, name string, now, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, badRequest(name + " must be an RFC 3339 time like 2026-12-01T00:00:00Z or a Go duration back from now like 24h, got " + strconv.Quote(v))
}

// fleetSamples answers the fleet's recorded samples (the dashboard's
// charts) from since to until, of kind, as one series per kind and group,
// folded into at most about fleet.MaxPoints buckets each (the peak of each).
func (s *Server) fleetSamples(w http.ResponseWriter, r *http.Request) error {
	now := s.rd.Now()
	since, err := timeOrAgoParam(r, "since", now, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	until, err := timeOrAgoParam(r, "until", now, now)
	if err != nil {
		return err
	}
	kind, err := kindParam(r)
	if err != nil {
		return err
	}
	if !until.After(since) {
		return badRequest("until must be after since")
	}
	if until.Sub(since) > maxSampleSpan {
		return badRequest("since and until may be at most 400 days apart")
	}
	// until is inclusive for the caller: a sample taken at until is in.
	h, err := fleet.ReadHistory(r.Context(), s.rd, since, until.Add(time.Microsecond), kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, FleetSamples{Since: since, Until: until, Step: h.Step.String(), Series: h.Series})
	return nil
}
