package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// importChunk is how many files one request carries; a large directory is
// sent in several requests (each idempotent, so a rerun after a failure
// repeats nothing).
const importChunk = 500

func runAccounts(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return usageError{"say: accounts import --script S [--label k=v]… FILES|DIR"}
	}
	fs := newFlags("accounts import", errOut)
	base, token := clientFlags(fs)
	script := fs.String("script", "", "script id the accounts run (required)")
	strategy := fs.String("strategy", "", "pack or spread, for this import only (default: the stored strategy, GET /api/v1/placement/settings)")
	var labels multiFlag
	fs.Var(&labels, "label", "k=v, repeatable: the accounts go only to servers carrying every label (e.g. region=eu)")
	format := listOutputFlag(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *script == "" {
		return usageError{"--script is required"}
	}
	paths, err := expandPaths(fs.Args())
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError{"give credential files or a directory holding them"}
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	// all is the answers in one, as the API would give them for one request.
	var all struct {
		Placed   int               `json:"placed"`
		Queued   int               `json:"queued"`
		Rejected int               `json:"rejected"`
		Items    []json.RawMessage `json:"items"`
	}
	for start := 0; start < len(paths); start += importChunk {
		chunk := paths[start:min(start+importChunk, len(paths))]
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("script", *script)
		if *strategy != "" {
			mw.WriteField("strategy", *strategy)
		}
		for _, l := range labels {
			mw.WriteField("label", l)
		}
		for _, p := range chunk {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename=%q`, filepath.Base(p)))
			h.Set("Content-Type", "application/octet-stream")
			w, _ := mw.CreatePart(h)
			w.Write(data)
		}
		mw.Close()
		var res struct {
			Placed, Queued, Rejected int
			Items                    []json.RawMessage
		}
		if err := c.do(ctx, "POST", "/api/v1/accounts/batch", mw.FormDataContentType(), &buf, &res); err != nil {
			return fmt.Errorf("files %d-%d: %w", start+1, start+len(chunk), err)
		}
		all.Placed, all.Queued, all.Rejected = all.Placed+res.Placed, all.Queued+res.Queued, all.Rejected+res.Rejected
		all.Items = append(all.Items, res.Items...)
		fmt.Fprintf(errOut, "sent %d/%d files\n", start+len(chunk), len(paths))
	}
	raw, err := json.Marshal(all)
	if err != nil {
		return err
	}
	var res struct {
		Items []struct{ Account, Status, Pool, Reason, Error string }
	}
	err = printAnswer(out, *format, raw, &res, func(w io.Writer) {
		fmt.Fprintln(w, "ACCOUNT\tSTATUS\tPOOL\tREASON")
		for _, it := range res.Items {
			reason := it.Reason
			if it.Error != "" {
				reason = it.Error
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", it.Account, it.Status, it.Pool, reason)
		}
	})
	if err != nil {
		return err
	}
	summary := fmt.Sprintf("%d placed, %d queued, %d rejected", all.Placed, all.Queued, all.Rejected)
	if *format == "json" {
		fmt.Fprintln(errOut, summary) // stdout is the JSON alone
	} else {
		fmt.Fprintf(out, "\n%s\n", summary)
	}
	if all.Rejected > 0 {
		return fmt.Errorf("%d of %d files rejected (see their REASON)", all.Rejected, len(res.Items))
	}
	return nil
}

// expandPaths turns arguments into files: a directory gives its regular
// files (not recursing, skipping dot files), in name order.
func expandPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, filepath.Join(a, e.Name()))
			}
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return out, nil
}
