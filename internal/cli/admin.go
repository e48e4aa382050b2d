package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

func runPools(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"say list, status or drain (or create, edit)"}
	}
	if args[0] == "create" || args[0] == "edit" {
		return runPoolsWrite(ctx, args, out, errOut)
	}
	fs := newFlags("pools "+args[0], errOut)
	base, token := clientFlags(fs)
	format := listOutputFlag(fs)
	kind := fs.String("kind", "", "list: server or team")
	ids := fs.String("ids", "", "status: comma-separated pool ids")
	status := fs.String("status", "", "status: active, paused, draining, banned, credential_invalid, offline")
	message := fs.String("message", "", "status: the reason")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	switch args[0] {
	case "list":
		var res struct {
			Items []struct {
				ID                   int64
				Name, Kind, Status   string
				Capacity, Used, Free int
				Priority             int
			}
		}
		return c.listPages(ctx, out, *format, "/api/v1/pools?kind="+url.QueryEscape(*kind), 0, &res, func(tw io.Writer) {
			fmt.Fprintln(tw, "ID\tNAME\tKIND\tSTATUS\tUSED/CAP\tPRIORITY")
			for _, p := range res.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%d\n", p.ID, p.Name, p.Kind, p.Status, p.Used, p.Capacity, p.Priority)
			}
		})
	case "status":
		var list []int64
		for _, s := range strings.Split(*ids, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return usageError{fmt.Sprintf("--ids: %q is not a pool id", s)}
			}
			list = append(list, n)
		}
		if len(list) == 0 || *status == "" {
			return usageError{"give --ids and --status"}
		}
		var res struct {
			SuccessCount int `json:"success_count"`
			FailedCount  int `json:"failed_count"`
			Failed       []struct {
				ID    int64
				Error string
			}
		}
		err := c.list(ctx, out, *format, "PATCH", "/api/v1/pools/status", map[string]any{"ids": list, "status": *status, "message": *message}, &res, func(w io.Writer) {
			fmt.Fprintf(w, "%d changed, %d failed\n", res.SuccessCount, res.FailedCount)
			for _, f := range res.Failed {
				fmt.Fprintf(w, "  pool %d: %s\n", f.ID, f.Error)
			}
		})
		if err != nil {
			return err
		}
		if res.FailedCount > 0 {
			return fmt.Errorf("%d pool(s) not changed", res.FailedCount)
		}
		return nil
	case "drain":
		if fs.NArg() != 1 {
			return usageError{"pools drain ID"}
		}
		var res map[string]any
		return c.list(ctx, out, *format, "POST", "/api/v1/pools/"+url.PathEscape(fs.Arg(0))+"/drain", nil, &res, func(w io.Writer) {
			fmt.Fprintf(w, "draining %v: %v moving, %v queued\n", res["pool"], res["moving"], res["queued"])
		})
	}
	return usageError{"unknown pools verb " + strconv.Quote(args[0])}
}

// historyPage is the most history rows the API answers a page
// (store.HistoryMaxLimit; the CLI does not import store).
const historyPage = 10000

func runHistory(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("history", errOut)
	base, token := clientFlags(fs)
	member := fs.String("member", "", "only this member")
	pool := fs.String("pool", "", "only this pool")
	limit := fs.Int("limit", 50, "entries, newest first (read in pages of at most 10,000)")
	format := listOutputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q: filter with --member or --pool", fs.Arg(0))}
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	if *limit < 1 {
		return usageError{"--limit must be at least 1"}
	}
	q := url.Values{"member": {*member}, "pool": {*pool}, "limit": {strconv.Itoa(min(*limit, historyPage))}}
	var res struct {
		Items []struct{ At, Member, Action, From, To, Reason, Actor string }
	}
	// The API answers newest first; the table reads oldest first.
	return c.listPages(ctx, out, *format, "/api/v1/history?"+q.Encode(), *limit, &res, func(tw io.Writer) {
		fmt.Fprintln(tw, "AT\tACTION\tMEMBER\tFROM\tTO\tACTOR\tREASON")
		for i := range res.Items {
			e := res.Items[len(res.Items)-1-i]
			fmt.Fprintln(tw, strings.Join([]string{e.At[:min(19, len(e.At))], e.Action, e.Member, e.From, e.To, e.Actor, e.Reason}, "\t"))
		}
	})
}
