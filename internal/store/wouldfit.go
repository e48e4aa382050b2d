package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// FitInput is what placement needs to know of a queued member to say what
// would place it now (placement's Index.WouldFit): its affinity key and
// labels, and the pools its request excludes.
type FitInput struct {
	AffinityKey string
	Labels      map[string]string
	// Exclude: the pool a move leaves, the pools of seats still being
	// released, and the pools whose provider refused the member (failed
	// seats whose last error starts with refusal, updated after since).
	Exclude []int64
}

// fitChunk bounds the ids one statement of QueueFitInputs names.
const fitChunk = 500

// QueueFitInputs reads, for queue entries, what FitInput holds, keyed by
// member id: three statements per fitChunk entries, whatever the queue's
// length.
func (q *Queries) QueueFitInputs(ctx context.Context, entries []model.QueueEntry, refusal string, since time.Time) (map[int64]FitInput, error) {
	out := make(map[int64]FitInput, len(entries))
	for start := 0; start < len(entries); start += fitChunk {
		chunk := entries[start:min(start+fitChunk, len(entries))]
		var members, seats []int64
		for _, e := range chunk {
			members = append(members, e.MemberID)
			if e.FromSeat != 0 {
				seats = append(seats, e.FromSeat)
			}
		}
		args, in := idArgs(members)
		rows, err := q.db.QueryContext(ctx, `SELECT id, affinity_key, labels FROM members WHERE id IN (`+in+`)`, args...)
		type mrow struct {
			id     int64
			key    string
			labels string
		}
		got, err := scanAll(rows, err, func(r rowScanner) (x mrow, err error) {
			err = r.Scan(&x.id, &x.key, &x.labels)
			return x, err
		})
		if err != nil {
			return nil, err
		}
		for _, x := range got {
			fi := FitInput{AffinityKey: x.key, Labels: map[string]string{}}
			if err := json.Unmarshal([]byte(x.labels), &fi.Labels); err != nil {
				return nil, fmt.Errorf("member %d labels: %w", x.id, err)
			}
			out[x.id] = fi
		}
		type pair struct{ member, pool int64 }
		scanPair := func(r rowScanner) (p pair, err error) {
			err = r.Scan(&p.member, &p.pool)
			return p, err
		}
		n := len(args)
		args = append(args, string(model.SeatReleasing), string(model.SeatReleaseFailed), string(model.SeatFailed),
			likePrefix(refusal), micros(since))
		rows, err = q.db.QueryContext(ctx, fmt.Sprintf(`SELECT member_id, pool_id FROM seats WHERE member_id IN (%s)
			AND (state IN ($%d, $%d) OR (state = $%d AND last_error LIKE $%d ESCAPE '\' AND updated_at > $%d))`,
			in, n+1, n+2, n+3, n+4, n+5), args...)
		pairs, err := scanAll(rows, err, scanPair)
		if err != nil {
			return nil, err
		}
		if len(seats) > 0 {
			args, in := idArgs(seats)
			rows, err := q.db.QueryContext(ctx, `SELECT member_id, pool_id FROM seats WHERE id IN (`+in+`)`, args...)
			moving, err := scanAll(rows, err, scanPair)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, moving...)
		}
		for _, p := range pairs {
			if fi, ok := out[p.member]; ok {
				fi.Exclude = append(fi.Exclude, p.pool)
				out[p.member] = fi
			}
		}
	}
	return out, nil
}

// idArgs is ids as statement arguments and their placeholders, the list
// padded as padIDs does (few distinct statement texts: see bulk.go).
func idArgs(ids []int64) ([]any, string) {
	ids = padIDs(ids)
	args := make([]any, len(ids))
	ph := make([]string, len(ids))
	for i, id := range ids {
		args[i] = id
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	return args, strings.Join(ph, ", ")
}

// likePrefix is a LIKE pattern for text starting with prefix (ESCAPE '\').
func likePrefix(prefix string) string { return likeEscape(prefix) + "%" }

// likeEscape makes text match itself in a LIKE pattern (ESCAPE '\').
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace
