package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
)

func runPools(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"say list, status or drain"}
	}
	fs := newFlags("pools "+args[0], errOut)
	base, token := clientFlags(fs)
	kind := fs.String("kind", "", "list: server or team")
	ids := fs.String("ids", "", "status: comma-separated pool ids")
	status := fs.String("status", "", "status: active, paused, draining, banned, credential_invalid, offline")
	message := fs.String("message", "", "status: the reason")
	c, err := parseClient(fs, args[1:], base, token)
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
		if err := c.json(ctx, "GET", "/api/v1/pools?kind="+url.QueryEscape(*kind), nil, &res); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tKIND\tSTATUS\tUSED/CAP\tPRIORITY")
		for _, p := range res.Items {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%d\n", p.ID, p.Name, p.Kind, p.Status, p.Used, p.Capacity, p.Priority)
		}
		return tw.Flush()
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
		if err := c.json(ctx, "PATCH", "/api/v1/pools/status", map[string]any{"ids": list, "status": *status, "message": *message}, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "%d changed, %d failed\n", res.SuccessCount, res.FailedCount)
		for _, f := range res.Failed {
			fmt.Fprintf(out, "  pool %d: %s\n", f.ID, f.Error)
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
		if err := c.json(ctx, "POST", "/api/v1/pools/"+url.PathEscape(fs.Arg(0))+"/drain", nil, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "draining %v: %v moving, %v queued\n", res["pool"], res["moving"], res["queued"])
		return nil
	}
	return usageError{"unknown pools verb " + strconv.Quote(args[0])}
}

func runHistory(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("history", errOut)
	base, token := clientFlags(fs)
	member := fs.String("member", "", "only this member")
	pool := fs.String("pool", "", "only this pool")
	limit := fs.Int("limit", 50, "entries")
	c, err := parseClient(fs, args, base, token)
	if err != nil {
		return err
	}
	q := url.Values{"member": {*member}, "pool": {*pool}, "limit": {strconv.Itoa(*limit)}}
	var res struct {
		Items []struct{ At, Member, Action, From, To, Reason, Actor string }
	}
	if err := c.json(ctx, "GET", "/api/v1/history?"+q.Encode(), nil, &res); err != nil {
		return err
	}
	printHistory(out, len(res.Items), func(i int) []string {
		e := res.Items[len(res.Items)-1-i]
		return []string{e.At[:19], e.Action, e.Member, e.From, e.To, e.Actor, e.Reason}
	})
	return nil
}

func printHistory(out io.Writer, n int, row func(i int) []string) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tACTION\tMEMBER\tFROM\tTO\tACTOR\tREASON")
	for i := range n {
		fmt.Fprintln(tw, strings.Join(row(i), "\t"))
	}
	tw.Flush()
}
