package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
)

const plansUsage = "plans create [-o json] ACTION PARAMS_JSON | plans show ID | plans apply ID | plans cancel ID: plan an action (pools.status, pools.drain, migrate, integrity.repair, rebalance), read the plan, apply it (exit 1 when refused: it changed or expired), stop a rebalance's scheduled moves"

// planAnswer is what the CLI reads of a plan (the API's Plan).
type planAnswer struct {
	ID        int64  `json:"id"`
	Action    string `json:"action"`
	State     string `json:"state"`
	ExpiresAt string `json:"expires_at"`
	Steps     []struct {
		Op, Pool, Member, From, To string
		SeatID                     int64 `json:"seat_id"`
		KeepSeatID                 int64 `json:"keep_seat_id"`
	} `json:"steps"`
	// Summary: a rebalance plan's imbalance before and after.
	Summary *struct {
		Strategy      string
		Moves, Pinned int
		Before, After imbalance
	} `json:"summary"`
	Result *struct {
		Done, Queued, Failed, Scheduled, Cancelled int
		Steps                                      []struct {
			Step           int
			Status, Detail string
			Pool           string
		}
	} `json:"result"`
}

type imbalance struct {
	Pools   int     `json:"pools"`
	InUse   int     `json:"in_use"`
	Partial int     `json:"partial"`
	Stddev  float64 `json:"utilization_stddev"`
	Range   float64 `json:"utilization_range"`
}

func (im imbalance) String() string {
	return fmt.Sprintf("%d pools, %d in use, %d partly filled, utilization stddev %.3f, range %.3f", im.Pools, im.InUse, im.Partial, im.Stddev, im.Range)
}

// printPlan writes a plan as a table: one line a step, with what applying
// it did once applied.
func printPlan(w io.Writer, p *planAnswer) {
	fmt.Fprintf(w, "plan %d\t%s\t%s\texpires %s\n", p.ID, p.Action, p.State, p.ExpiresAt)
	results := map[int]string{}
	if p.Result != nil {
		for _, r := range p.Result.Steps {
			s := r.Status
			if r.Pool != "" {
				s += " " + r.Pool
			}
			if r.Detail != "" {
				s += ": " + r.Detail
			}
			results[r.Step] = s
		}
	}
	fmt.Fprintln(w, "#\tSTEP\tRESULT")
	for i, st := range p.Steps {
		var what string
		switch st.Op {
		case "pool.status":
			what = fmt.Sprintf("pool %s: %s → %s", st.Pool, st.From, st.To)
		case "move":
			to := st.To
			if to == "" {
				to = "(queued: no room now)"
			}
			what = fmt.Sprintf("move %s (seat %d) %s → %s", st.Member, st.SeatID, st.Pool, to)
		case "move.paced":
			what = fmt.Sprintf("move %s (seat %d) %s → %s, paced", st.Member, st.SeatID, st.Pool, st.To)
		case "release":
			what = fmt.Sprintf("release %s's seat %d on %s (keeps %d)", st.Member, st.SeatID, st.Pool, st.KeepSeatID)
		default:
			what = st.Op
		}
		fmt.Fprintf(w, "%d\t%s\t%s\n", i+1, what, results[i])
	}
	if len(p.Steps) == 0 {
		fmt.Fprintln(w, "-\tnothing to do\t")
	}
	if sm := p.Summary; sm != nil {
		fmt.Fprintf(w, "%s: %d move(s), %d member(s) pinned\nbefore: %s\nafter:  %s\n", sm.Strategy, sm.Moves, sm.Pinned, sm.Before, sm.After)
	}
	if p.Result != nil {
		fmt.Fprintf(w, "applied: %d done, %d queued, %d failed", p.Result.Done, p.Result.Queued, p.Result.Failed)
		if p.Result.Scheduled > 0 {
			fmt.Fprintf(w, ", %d scheduled (a few a minute)", p.Result.Scheduled)
		}
		if p.Result.Cancelled > 0 {
			fmt.Fprintf(w, ", %d stopped", p.Result.Cancelled)
		}
		fmt.Fprintln(w)
	}
}

func runPlans(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"say create, show, apply or cancel"}
	}
	fs := newFlags("plans "+args[0], errOut)
	base, token := clientFlags(fs)
	format := listOutputFlag(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var p planAnswer
	table := func(w io.Writer) { printPlan(w, &p) }
	switch args[0] {
	case "create":
		if fs.NArg() < 1 || fs.NArg() > 2 {
			return usageError{"plans create ACTION PARAMS_JSON, e.g. plans create pools.status '{\"ids\": [1, 2], \"status\": \"paused\"}'"}
		}
		params := json.RawMessage("{}")
		if fs.NArg() == 2 {
			params = json.RawMessage(fs.Arg(1))
			if !json.Valid(params) {
				return usageError{"PARAMS_JSON is not JSON: " + strconv.Quote(fs.Arg(1))}
			}
		}
		c, err := clientFrom(base, token)
		if err != nil {
			return err
		}
		return c.list(ctx, out, *format, "POST", "/api/v1/plans", map[string]any{"action": fs.Arg(0), "params": params}, &p, table)
	case "show", "apply", "cancel":
		if fs.NArg() != 1 {
			return usageError{"plans " + args[0] + " ID"}
		}
		c, err := clientFrom(base, token)
		if err != nil {
			return err
		}
		path := "/api/v1/plans/" + url.PathEscape(fs.Arg(0))
		if args[0] == "show" {
			return c.list(ctx, out, *format, "GET", path, nil, &p, table)
		}
		if args[0] == "cancel" {
			return c.list(ctx, out, *format, "POST", path+"/cancel", nil, &p, table)
		}
		if err := c.list(ctx, out, *format, "POST", path+"/apply", nil, &p, table); err != nil {
			return err
		}
		if p.Result != nil && p.Result.Failed > 0 {
			return fmt.Errorf("%d step(s) failed", p.Result.Failed)
		}
		return nil
	}
	return usageError{"unknown plans verb " + strconv.Quote(args[0])}
}
