package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

const healthcheckUsage = "healthcheck [--url http://127.0.0.1:8080/readyz]: exit 0 when berth answers ready (a container's HEALTHCHECK)"

// runHealthcheck asks a running berth whether it is ready. An image built
// FROM scratch has no curl: its HEALTHCHECK runs this.
func runHealthcheck(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(errOut)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "the readiness URL to ask")
	timeout := durationFlag(fs, "timeout", 4*time.Second, "how long to wait for the answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageError{fmt.Sprintf("--url %q: %v", *url, err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("berth at %s does not answer: %w", *url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("berth at %s is not ready: %s", *url, resp.Status)
	}
	fmt.Fprintln(out, "ready")
	return nil
}
