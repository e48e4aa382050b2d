package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/adminclient"
)

func runCodes(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"say generate, export, disable or enable"}
	}
	fs := newFlags("codes "+args[0], errOut)
	base, token := clientFlags(fs)
	count := fs.Int("count", 0, "generate: how many codes")
	group := fs.String("group", "", "generate: the team group the codes are for (label group=…); export: filter")
	maxUses := fs.Int("max-uses", 1, "generate: seats one code may take")
	validFor := fs.Duration("valid-for", 0, "generate: how long a seat lasts from first use, e.g. 720h")
	expires := fs.String("expires-at", "", "generate: hard end, RFC 3339 (e.g. 2027-01-01T00:00:00Z)")
	rebind := fs.Int("rebind-limit", 3, "generate: paid moves allowed")
	prefix := fs.String("prefix", "", "generate: a prefix such as VIP")
	status := fs.String("status", "", "export: only codes in this status")
	c, err := parseClient(fs, args[1:], base, token)
	if err != nil {
		return err
	}
	switch args[0] {
	case "generate":
		if *count <= 0 {
			return usageError{"--count is required"}
		}
		spec := map[string]any{"count": *count, "group": *group, "max_uses": *maxUses, "rebind_limit": *rebind, "prefix": *prefix}
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
		if err := c.json(ctx, "POST", "/api/v1/codes/batch", spec, &res); err != nil {
			return err
		}
		fmt.Fprintln(out, strings.Join(res.Codes, "\n"))
		fmt.Fprintf(errOut, "%d codes generated; they are shown once here and in exports\n", len(res.Codes))
		return nil
	case "export":
		q := url.Values{"format": {"csv"}, "group": {*group}, "status": {*status}}
		return c.do(ctx, "GET", "/api/v1/codes?"+q.Encode(), "", nil, adminclient.Raw{W: out})
	case "disable", "enable":
		if fs.NArg() != 1 {
			return usageError{"codes " + args[0] + " CODE"}
		}
		var res struct{ Status string }
		if err := c.json(ctx, "PATCH", "/api/v1/codes/"+url.PathEscape(fs.Arg(0)), map[string]string{"status": args[0] + "d"}, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "code is now %s\n", res.Status)
		return nil
	}
	return usageError{"unknown codes verb " + args[0]}
}

func runIntegrity(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("integrity", errOut)
	base, token := clientFlags(fs)
	repair := fs.Int("repair", 0, "release the extra seats of up to N orphans' seats")
	c, err := parseClient(fs, args, base, token)
	if err != nil {
		return err
	}
	var rep map[string]json.RawMessage
	if err := c.json(ctx, "GET", "/api/v1/integrity", nil, &rep); err != nil {
		return err
	}
	clean := true
	for _, k := range []string{"orphans", "overbooked", "zombie_moves", "drift"} {
		var items []json.RawMessage
		json.Unmarshal(rep[k], &items)
		fmt.Fprintf(out, "%-13s %d\n", k, len(items))
		for _, it := range items {
			fmt.Fprintf(out, "  %s\n", it)
		}
		if len(items) > 0 {
			clean = false
		}
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
