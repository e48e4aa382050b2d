package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/berthhq/berth/internal/provider"
)

// mediaType is SCIM's media type (RFC 7644 3.1).
const mediaType = "application/scim+json"

// maxBody caps what is read of one answer.
const maxBody = 8 << 20

// maxDetail caps the SCIM error detail kept in an error, which viewers read
// in a seat's last error and the history.
const maxDetail = 120

// httpError is a SCIM server's non-2xx answer.
type httpError struct {
	Status     int
	ScimType   string        // the SCIM error's scimType, if any
	Detail     string        // the SCIM error's detail, summarised; never the raw body
	RetryAfter time.Duration // from Retry-After, if any
	Location   string        // for redirects
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// scimError is the body of a SCIM error answer (RFC 7644 3.12).
type scimError struct {
	ScimType string `json:"scimType"`
	Detail   string `json:"detail"`
}

// call sends one request to the server: method on base_url + path with
// query q, in encoded as the JSON body when not nil. A 2xx answer is decoded
// into out when out is not nil and the answer has a body. A non-2xx answer
// is returned as *httpError; a request that could not be made, timed out or
// whose answer could not be read is returned as a retryable or pool-level
// *provider.Error.
func (p *Provider) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	if err := ctx.Err(); err != nil {
		return &provider.Error{Class: provider.Retryable, Err: err}
	}
	target := p.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &provider.Error{Class: provider.MemberPermanent, Err: err}
		}
		body = bytes.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, target, body)
	if err != nil {
		return &provider.Error{Class: provider.PoolPermanent, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.Token)
	req.Header.Set("Accept", mediaType+", application/json")
	req.Header.Set("User-Agent", "berth-scim/1")
	if in != nil {
		req.Header.Set("Content-Type", mediaType)
	}
	// The connection is checked against the allow-list when dialed
	// (provider.HTTPClient), so a base_url that is or resolves to an
	// internal address is refused.
	resp, err := provider.HTTPClient(provider.Egress(ctx, p.cfg.Egress)).Do(req)
	if err != nil {
		return p.transportError(ctx, rctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return p.transportError(ctx, rctx, fmt.Errorf("reading the answer: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		he := &httpError{Status: resp.StatusCode, RetryAfter: provider.RetryAfter(resp.Header.Get("Retry-After"), time.Now())}
		// Only a SCIM error's type and a short summary of its detail are
		// kept: any other body is left out (a server at a wrong address
		// answers with its own page, not meant for viewers).
		var se scimError
		if json.Unmarshal(data, &se) == nil {
			if scimType.MatchString(se.ScimType) {
				he.ScimType = se.ScimType
			}
			he.Detail = provider.Summary(p.redact(se.Detail), maxDetail)
		}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			he.Location = provider.Summary(p.redact(resp.Header.Get("Location")), maxDetail)
		}
		return he
	}
	if len(data) > maxBody {
		return &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("answer larger than %d bytes", maxBody)}
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("answer is not SCIM JSON: %s", provider.Summary(p.redact(err.Error()), maxDetail))}
		}
	}
	return nil
}

// transportError classifies a failure to get an answer at all
// (provider.CallFailure).
func (p *Provider) transportError(ctx, rctx context.Context, err error) error {
	class, err := provider.CallFailure(ctx, rctx, p.cfg.timeout(), err, p.cfg.Token, "[token]", 300)
	return &provider.Error{Class: class, Err: err}
}

// classify turns the failure of op into a classified provider error. A
// non-2xx answer that is not about credentials, rate limits, redirects or
// the server's health gets class other: MemberPermanent for operations on
// one member, PoolPermanent for the pool's own calls.
func (p *Provider) classify(op string, err error, other provider.Class) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return &provider.Error{Class: pe.Class, RetryAfter: pe.RetryAfter, Err: fmt.Errorf("scim %s: %s: %w", p.host, op, pe.Err)}
	}
	var he *httpError
	if !errors.As(err, &he) {
		return &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("scim %s: %s: %w", p.host, op, err)}
	}
	class := other
	msg := he.Error()
	switch s := he.Status; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		class, msg = provider.PoolPermanent, "credentials rejected ("+msg+")"
	case s == http.StatusTooManyRequests || s == http.StatusRequestTimeout:
		class = provider.Retryable
	case s == http.StatusNotImplemented:
		class, msg = provider.PoolPermanent, "the server does not implement this ("+msg+")"
	case s >= 500:
		class = provider.Retryable
	case s >= 300 && s < 400:
		class, msg = provider.PoolPermanent, fmt.Sprintf("redirected to %q (%s); set base_url to where the server really is", he.Location, msg)
	case s < 200 || s >= 600:
		class = provider.Retryable
	}
	return &provider.Error{Class: class, RetryAfter: he.RetryAfter, Err: fmt.Errorf("scim %s: %s: %s", p.host, op, msg)}
}

// redact hides the token in what the server sent, should the server
// reflect the request's Authorization header.
func (p *Provider) redact(s string) string {
	return provider.Redact(s, p.cfg.Token, "[token]")
}

// status returns the HTTP status of err if it is a server's answer, else 0.
func status(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// scimType is what a SCIM error's scimType looks like (RFC 7644 3.12:
// invalidFilter, uniqueness, mutability, …); anything else is left out.
var scimType = regexp.MustCompile(`^[A-Za-z]{1,40}$`)
