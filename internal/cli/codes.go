package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/adminclient"
	"github.com/berthhq/berth/internal/model"
)

func runCodes(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"say generate, list, export, disable or enable"}
	}
	fs := newFlags("codes "+args[0], errOut)
	base, token := clientFlags(fs)
	format := listOutputFlag(fs)
	count := fs.Int("count", 0, "generate: how many codes")
	group := fs.String("group", "", "generate: the team group the codes are for (label group=…); list, export: filter")
	maxUses := fs.Int("max-uses", 1, "generate: seats one code may take")
	validFor := durationFlag(fs, "valid-for", 0, "generate: how long a seat lasts from first use, e.g. 30d, 1d12h or 720h")
	expires := fs.String("expires-at", "", "generate: hard end, RFC 3339 (e.g. 2027-01-01T00:00:00Z)")
	rebind := fs.Int("rebind-limit", 3, "generate: paid moves allowed")
	prefix := fs.String("prefix", "", "generate: a prefix such as VIP")
	var labels multiFlag
	fs.Var(&labels, "label", "generate: k=v, repeatable: redeemers go only to teams carrying every label (beyond --group)")
	status := fs.String("status", "", "list, export: only codes in this status")
	limit := fs.Int("limit", 0, "list, export: at most this many codes, one page (0: every code)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	switch args[0] {
	case "generate":
		if *count <= 0 {
			return usageError{"--count is required"}
		}
		spec := map[string]any{"count": *count, "group": *group, "max_uses": *maxUses, "rebind_limit": *rebind, "prefix": *prefix}
		if len(labels) > 0 {
			l, err := labelMap(labels)
			if err != nil {
				return err
			}
			spec["labels"] = l
		}
		if *validFor > 0 {
			spec["valid_for"] = validFor.String()
		}
		if *expires != "" {
			if _, err := time.Parse(time.RFC3339, *expires); err != nil {
				return usageError{"--expires-at: use RFC 3339, e.g. 2027-01-01T00:00:00Z"}
			}
			spec["expires_at"] = *expires
		}
		var res struct{ Codes []string }
		err := c.list(ctx, out, *format, "POST", "/api/v1/codes/batch", spec, &res, func(w io.Writer) {
			fmt.Fprintln(w, strings.Join(res.Codes, "\n"))
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(errOut, "%d codes generated; they are shown once here and in exports\n", len(res.Codes))
		return nil
	case "list", "export":
		q := url.Values{"group": {*group}, "status": {*status}}
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		if args[0] == "export" && *format != "json" {
			// An export is the CSV file (-o json: the JSON list, as codes list -o json).
			q.Set("format", "csv")
			return c.do(ctx, "GET", "/api/v1/codes?"+q.Encode(), "", nil, adminclient.Raw{W: out})
		}
		// Without --limit, every page: GET /api/v1/codes answers 100000
		// codes at a time; with it, one page of at most that many.
		var res struct{ Items []model.Code }
		return c.listPages(ctx, out, *format, "/api/v1/codes?"+q.Encode(), *limit, &res, func(w io.Writer) {
			fmt.Fprintln(w, "CODE\tGROUP\tSTATUS\tUSED/MAX\tBOUND_EMAIL\tVALID_FOR\tENDS_AT")
			for _, k := range res.Items {
				code := k.Display
				if code == "" {
					code = "…" + k.Hint
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", code, k.Group, k.Status, k.UsedCount, k.MaxUses,
					k.BoundEmail, time.Duration(k.ValidFor), tableTime(k.EndsAt))
			}
		})
	case "disable", "enable":
		if fs.NArg() != 1 {
			return usageError{"codes " + args[0] + " CODE"}
		}
		var res struct{ Status string }
		return c.list(ctx, out, *format, "PATCH", "/api/v1/codes/"+url.PathEscape(fs.Arg(0)), map[string]string{"status": args[0] + "d"}, &res, func(w io.Writer) {
			fmt.Fprintf(w, "code is now %s\n", res.Status)
		})
	}
	return usageError{"unknown codes verb " + args[0]}
}

func runIntegrity(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("integrity", errOut)
	base, token := clientFlags(fs)
	repair := fs.Int("repair", 0, "release the extra seats of up to N orphans' seats")
	format := listOutputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *repair > 0 && *format == "json" {
		return usageError{"-o json prints the report only; run --repair without it"}
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	var rep map[string]json.RawMessage
	kinds := []string{"orphans", "overbooked", "zombie_moves", "drift"}
	items := func(k string) []json.RawMessage {
		var l []json.RawMessage
		json.Unmarshal(rep[k], &l)
		return l
	}
	err = c.list(ctx, out, *format, "GET", "/api/v1/integrity", nil, &rep, func(w io.Writer) {
		for _, k := range kinds {
			fmt.Fprintf(w, "%s\t%d\n", k, len(items(k)))
			for _, it := range items(k) {
				fmt.Fprintf(w, "  %s\n", it)
			}
		}
	})
	if err != nil {
		return err
	}
	clean := true
	for _, k := range kinds {
		clean = clean && len(items(k)) == 0
	}
	if *repair > 0 {
		var res map[string]any
		if err := c.json(ctx, "POST", "/api/v1/integrity/repair", map[string]any{"limit": *repair}, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "repair: %v released, %v skipped\n", res["released"], res["skipped"])
		return nil
	}
	if !clean {
		return fmt.Errorf("invariants broken (see above); --repair N releases orphans' extra seats")
	}
	return nil
}

// tableTime writes t for a table: RFC 3339 in UTC, "-" when unset.
func tableTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
