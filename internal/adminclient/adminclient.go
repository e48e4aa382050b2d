// Package adminclient calls a running berth's admin API (/api/v1) with a
// bearer token. The command line's admin verbs (internal/cli) and the load
// benchmark's seeding (internal/loadbench) both use it; each brings its own
// *http.Client and puts its own words around the errors.
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Client is one berth's admin API.
type Client struct {
	Base  string       // the server's URL, without a trailing slash
	Token string       // the admin token, sent as "Authorization: Bearer"
	HTTP  *http.Client // the client requests go through
}

// Raw, given to Do as out, receives a 2xx answer's body as it is (a CSV
// export) instead of decoding it as JSON.
type Raw struct{ W io.Writer }

// UnreachableError is a request that got no answer from berth.
type UnreachableError struct {
	Base string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach berth at %s: %v", e.Base, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// StatusError is an answer that is not 2xx: its status line and, from a
// problem+json body, the problem's title and detail.
type StatusError struct {
	Status        string // e.g. "404 Not Found"
	Title, Detail string
}

// Error is "title: detail", or "server answered <status>" when the answer
// has no problem detail.
func (e *StatusError) Error() string {
	if e.Detail != "" {
		return e.Title + ": " + e.Detail
	}
	return "server answered " + e.Status
}

// Do sends a request with the token and decodes a 2xx JSON answer into out
// (nil, or an empty answer: out is left alone; Raw: streamed). A request
// without an answer fails with *UnreachableError, an answer that is not 2xx
// with *StatusError.
func (c *Client) Do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &UnreachableError{Base: c.Base, Err: err}
	}
	defer resp.Body.Close()
	if raw, ok := out.(Raw); ok && resp.StatusCode/100 == 2 {
		// Streamed, not held in memory (exports, backups). An answer cut
		// short of its Content-Length fails (io.ErrUnexpectedEOF).
		_, err := io.Copy(raw.W, resp.Body)
		return err
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Status: resp.Status}
		var p struct{ Title, Detail string }
		if json.Unmarshal(data, &p) == nil && p.Detail != "" {
			se.Title, se.Detail = p.Title, p.Detail
		}
		return se
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}

// JSON sends in as a JSON body (nil: no body) and decodes the answer into
// out as Do does.
func (c *Client) JSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return c.Do(ctx, method, path, "application/json", body, out)
}
