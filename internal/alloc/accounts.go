package alloc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/berthhq/berth/internal/crashpoint"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// AccountFile is one credential file of an import batch. Err, when set by
// the decoder (bad name, oversize, duplicate), rejects the item up front.
type AccountFile struct {
	ID       string
	FileName string
	Data     []byte
	Err      error
}

// ImportParams is one batch of accounts for one script.
type ImportParams struct {
	Script   string
	Strategy string
	// Labels are the accounts' placement constraints (region=eu): each
	// account goes only to a server carrying every one (docs/design.md,
	// "Placement rules"). An account that exists keeps its labels.
	Labels map[string]string
	Files  []AccountFile
	Actor  string
}

// CheckLabels validates members' label constraints (accounts at import,
// codes): keys 1-63 bytes of letters, digits, '.', '_', '-' or '/',
// values at most 255 bytes, at most 16 labels.
func CheckLabels(l map[string]string) error {
	if len(l) > 16 {
		return Invalidf("%d labels; the limit is 16", len(l))
	}
	for k, v := range l {
		if !labelKey.MatchString(k) || len(v) > 255 {
			return Invalidf("label %q=%q: keys are 1-63 letters, digits, '.', '_', '-' or '/'; values at most 255 bytes", k, v)
		}
		for _, r := range v {
			if unicode.IsControl(r) {
				return Invalidf("label %q: the value contains a control character", k)
			}
		}
	}
	return nil
}

var labelKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)

// ParseLabels reads labels written key=value, as the CLI's --label and the
// upload form's label fields give them; an empty item is skipped.
func ParseLabels(items []string) (map[string]string, error) {
	var out map[string]string
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		k, v, ok := strings.Cut(it, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, Invalidf("label %q: write key=value, like region=eu", it)
		}
		if out == nil {
			out = map[string]string{}
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if prev, dup := out[k]; dup && prev != v {
			return nil, Invalidf("label %q is given twice (%q and %q)", k, prev, v)
		}
		out[k] = v
	}
	return out, CheckLabels(out)
}

// Batch sizes: members are stored in chunks, then placed in chunks, each
// chunk one transaction, so a crash loses at most the chunk in flight (which
// the client's retry, idempotent by account id, completes).
const (
	storeChunk = 250
	placeChunk = 100
)

// ValidateScript checks a script id (the affinity key).
func ValidateScript(script string) error {
	if script == "" {
		return Invalidf("script is required: give the script id the accounts run")
	}
	if len(script) > 128 {
		return Invalidf("script is %d bytes; the limit is 128", len(script))
	}
	for _, r := range script {
		if unicode.IsControl(r) {
			return Invalidf("script contains a control character")
		}
	}
	return nil
}

// ImportAccounts stores and places a batch of accounts, returning one
// outcome per file in order. An account that already exists is not touched:
// its current placement is returned (imports are idempotent by account id).
func (s *Service) ImportAccounts(ctx context.Context, p ImportParams) ([]Outcome, error) {
	if err := ValidateScript(p.Script); err != nil {
		return nil, err
	}
	if err := CheckLabels(p.Labels); err != nil {
		return nil, err
	}
	// No strategy named: each member gets the stored one (strategy.go).
	var strategy placement.Strategy
	if p.Strategy != "" {
		var err error
		if strategy, err = placement.ParseStrategy(p.Strategy); err != nil {
			return nil, Invalidf("%v", err)
		}
	}
	if p.Actor == "" {
		p.Actor = "admin"
	}
	out := make([]Outcome, len(p.Files))
	// Phase 1: store every valid file as a pending member.
	var toPlace []int // indexes into out
	for start := 0; start < len(p.Files); start += storeChunk {
		end := min(start+storeChunk, len(p.Files))
		var placeNow []int
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
			placeNow = placeNow[:0]
			var params []store.MemberCreateParams
			var at []int
			for i := start; i < end; i++ {
				f := p.Files[i]
				if f.Err != nil {
					out[i] = Outcome{Member: model.Member{ExternalID: f.ID}, Status: OutcomeRejected, Reason: f.Err.Error()}
					continue
				}
				params = append(params, store.MemberCreateParams{Kind: model.KindServer, ExternalID: f.ID,
					AffinityKey: p.Script, Labels: p.Labels, FileName: f.FileName, FileData: f.Data})
				at = append(at, i)
			}
			members, created, err := tx.MemberCreateMany(ctx, params)
			if err != nil {
				return fmt.Errorf("store accounts %s…: %w", p.Files[start].ID, err)
			}
			for j, m := range members {
				i := at[j]
				out[i].Member = m
				if created[j] || m.State == model.MemberPending {
					placeNow = append(placeNow, i)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		crashpoint.Hit("import.after-store-chunk")
		toPlace = append(toPlace, placeNow...)
	}
	// Phase 2: place the pending ones.
	for start := 0; start < len(toPlace); start += placeChunk {
		chunk := toPlace[start:min(start+placeChunk, len(toPlace))]
		members := make([]model.Member, len(chunk))
		for j, i := range chunk {
			members[j] = out[i].Member
		}
		res, err := s.placePending(ctx, model.KindServer, members, strategy, p.Actor)
		if err != nil {
			return nil, err
		}
		for j, i := range chunk {
			if res[j].Status != "" {
				out[i] = res[j]
			}
		}
	}
	// Everything not placed just now: report where it is.
	for i := range out {
		if out[i].Status == "" {
			o, err := s.Describe(ctx, out[i].Member)
			if err != nil {
				return nil, err
			}
			out[i] = o
		}
	}
	return out, nil
}

// placePending places members still pending, in one transaction. A member
// another request or replica already took is skipped (empty Status).
func (s *Service) placePending(ctx context.Context, kind model.Kind, members []model.Member, strategy placement.Strategy, actor string) ([]Outcome, error) {
	res := make([]Outcome, len(members))
	ids := make([]int64, len(members))
	for j, m := range members {
		ids[j] = m.ID
	}
	err := s.withIndex(ctx, kind, len(members), func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
		// Claim: only one transaction moves a member out of pending.
		claimed, err := tx.MembersClaim(ctx, ids)
		if err != nil {
			return err
		}
		var fresh []model.Member
		var at []int
		for j, m := range members {
			res[j] = Outcome{}
			if claimed[m.ID] {
				fresh = append(fresh, m)
				at = append(at, j)
			}
		}
		placed, err := s.placeBulk(ctx, tx, ix, fresh, strategy, actor)
		if err != nil {
			return err
		}
		for k, m := range fresh {
			j := at[k]
			if placed[k].Status != "" {
				res[j] = placed[k]
				continue
			}
			// What the bulk path could not place: one at a time, with the
			// guard's retries, the database's room check and the queue.
			o, err := s.placeTx(ctx, tx, ix, placeReq{member: m, strategy: strategy, actor: actor, queueOnMiss: true, fresh: true})
			if err != nil {
				return err
			}
			res[j] = o
		}
		crashpoint.Hit("place.before-commit")
		return nil
	})
	return res, err
}

// placeBulk places members just claimed from pending set-wise (placeSet),
// and writes their seats, member states and history with one statement
// each. A member placeSet leaves out has an empty outcome, for placeTx.
// Runs in a placer's batch.
func (s *Service) placeBulk(ctx context.Context, tx *store.Tx, ix *placement.Index, members []model.Member, strategy placement.Strategy, actor string) ([]Outcome, error) {
	out := make([]Outcome, len(members))
	if len(members) == 0 {
		return out, nil
	}
	p, err := s.placerFor(members[0].Kind)
	if err != nil {
		return nil, err
	}
	reqs := make([]placement.Request, len(members))
	for i, m := range members {
		reqs[i] = placement.Request{Kind: m.Kind, AffinityKey: m.AffinityKey, Labels: m.Labels, Strategy: strategy}
		if strategy == "" {
			if reqs[i].Strategy, err = s.storedStrategy(ctx, &tx.Queries, m.Kind, m.Labels); err != nil {
				return nil, err
			}
		}
	}
	kept, err := s.placeSet(ctx, tx, ix, reqs)
	if err != nil || len(kept) == 0 {
		return out, err
	}
	seats := make([]store.SeatParams, len(kept))
	for k, pl := range kept {
		seats[k] = store.SeatParams{MemberID: members[pl.i].ID, PoolID: pl.pool.ID, State: model.SeatProvisioning}
	}
	ids, err := tx.SeatCreateMany(ctx, seats)
	if err != nil {
		return nil, err
	}
	placedIDs := make([]int64, len(kept))
	hist := make([]model.HistoryEntry, len(kept))
	for k, pl := range kept {
		m := members[pl.i]
		placedIDs[k] = m.ID
		hist[k] = model.HistoryEntry{Member: m.ExternalID, Pool: pl.pool.Name, Action: model.ActPlaced, To: pl.pool.Name, Reason: pl.why, Why: &pl.data, Actor: actor}
		if err := p.deliverLater(ctx, tx, ids[k]); err != nil {
			return nil, err
		}
		m.State = model.MemberPlaced
		out[pl.i] = Outcome{Member: m, Status: OutcomePlaced, Pool: pl.pool.Name, SeatID: ids[k], Reason: pl.why, Why: &pl.data}
	}
	if err := tx.MembersSetState(ctx, placedIDs, model.MemberPlaced, ""); err != nil {
		return nil, err
	}
	if err := tx.HistoryAddMany(ctx, hist...); err != nil {
		return nil, err
	}
	return out, nil
}

// Describe reports where a member is now.
func (s *Service) Describe(ctx context.Context, m model.Member) (Outcome, error) {
	o := Outcome{Member: m}
	seat, err := s.st.SeatLive(ctx, m.ID)
	switch {
	case err == nil:
		o.Status, o.Pool, o.SeatID = OutcomePlaced, seat.Pool, seat.ID
		o.Reason = "already imported: " + string(seat.State) + " on " + seat.Pool
		return o, nil
	case !errors.Is(err, store.ErrNotFound):
		return o, err
	}
	switch m.State {
	case model.MemberQueued, model.MemberPending:
		pos, err := s.st.QueuePosition(ctx, m.ID)
		if err != nil {
			return o, err
		}
		o.Status, o.Position, o.Reason, o.Why = OutcomeQueued, pos, m.Reason, m.Why
	default:
		o.Status, o.Reason, o.Why = OutcomeRejected, m.Reason, m.Why
	}
	return o, nil
}

// SweepPending places members left pending by a crash between storing and
// placing them. It runs at start and periodically.
func (s *Service) SweepPending(ctx context.Context) (int, error) {
	total := 0
	for _, kind := range model.Kinds() {
		for {
			members, err := s.st.MembersByState(ctx, kind, model.MemberPending, placeChunk)
			if err != nil {
				return total, err
			}
			if len(members) == 0 {
				break
			}
			if _, err := s.placePending(ctx, kind, members, "", model.ActorSystem); err != nil {
				return total, err
			}
			total += len(members)
		}
	}
	return total, nil
}

// SweepStuck enqueues again the job of seats stuck in provisioning or
// releasing longer than olderThan, in case it was lost. Workers are
// idempotent, so a duplicate job does no harm.
func (s *Service) SweepStuck(ctx context.Context, olderThan time.Duration) (int, error) {
	before := s.st.Now().Add(-olderThan)
	n := 0
	for _, c := range []struct {
		states  []model.SeatState
		enqueue func(context.Context, *store.Tx, int64) error
	}{
		{[]model.SeatState{model.SeatProvisioning, model.SeatReserved}, s.jobs.Deliver},
		{[]model.SeatState{model.SeatReleasing}, s.jobs.Remove},
	} {
		seats, err := s.st.SeatsStuck(ctx, before, 500, c.states...)
		if err != nil {
			return n, err
		}
		for _, seat := range seats {
			err := s.st.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.SeatAttempt(ctx, seat.ID, "job enqueued again by the sweep"); err != nil {
					return err
				}
				return c.enqueue(ctx, tx, seat.ID)
			})
			if err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
