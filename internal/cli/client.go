package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client talks to a running berth's admin API.
type client struct {
	base, token string
	http        *http.Client
}

func newClient(base, token string) (*client, error) {
	if token == "" {
		return nil, usageError{"no admin token: set BERTH_ADMIN_TOKEN (printed at the server's first start) or pass --token"}
	}
	return &client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// do sends a request and decodes a JSON answer into out; problem+json
// answers become errors carrying the server's detail.
func (c *client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach berth at %s (is it running? set BERTH_URL): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var p struct{ Title, Detail string }
		if json.Unmarshal(data, &p) == nil && p.Detail != "" {
			return fmt.Errorf("%s: %s", p.Title, p.Detail)
		}
		return fmt.Errorf("server answered %s", resp.Status)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if rw, ok := out.(rawWriter); ok {
		_, err := rw.w.Write(data)
		return err
	}
	return json.Unmarshal(data, out)
}

func (c *client) json(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return c.do(ctx, method, path, "application/json", body, out)
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
		t = envOr("BERTH_ADMIN_TOKEN", "")
	}
	return newClient(*base, t)
}

var errNoArgs = errors.New("no arguments")
