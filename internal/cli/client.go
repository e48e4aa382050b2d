package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/adminclient"
)

// client talks to a running berth's admin API.
type client struct{ adminclient.Client }

func newClient(base, token string) (*client, error) {
	if token == "" {
		return nil, usageError{"no admin token: set BERTH_ADMIN_TOKEN (printed at the server's first start) or pass --token"}
	}
	return &client{adminclient.Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 10 * time.Minute}}}, nil
}

// do sends a request and decodes a JSON answer into out
// (adminclient.Client.Do); problem+json answers become errors carrying the
// server's detail.
func (c *client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	return reachHint(c.Do(ctx, method, path, contentType, body, out))
}

// json sends in as a JSON body (nil: none) and decodes the answer as do.
func (c *client) json(ctx context.Context, method, path string, in, out any) error {
	return reachHint(c.JSON(ctx, method, path, in, out))
}

// reachHint says, when berth could not be reached, where its address comes
// from.
func reachHint(err error) error {
	var ue *adminclient.UnreachableError
	if errors.As(err, &ue) {
		return fmt.Errorf("cannot reach berth at %s (is it running? set BERTH_URL): %w", ue.Base, ue.Err)
	}
	return err
}

func clientFlags(fs interface {
	StringVar(*string, string, string, string)
}) (*string, *string) {
	var base, token string
	fs.StringVar(&base, "url", envOr("BERTH_URL", "http://127.0.0.1:8080"), "berth server URL")
	fs.StringVar(&token, "token", "", "admin token (default: BERTH_ADMIN_TOKEN)")
	return &base, &token
}

func clientFrom(base, token *string) (*client, error) {
	t := *token
	if t == "" {
		var err error
		if t, err = envSecret("BERTH_ADMIN_TOKEN"); err != nil {
			return nil, err
		}
	}
	return newClient(*base, t)
}

var errNoArgs = errors.New("no arguments")
