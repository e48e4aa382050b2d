// Package botapi is berth's client of the Telegram Bot API
// (https://core.telegram.org/bots/api) over HTTPS JSON: the calls berth
// makes (getUpdates, sendMessage), the parsing of every answer, and the
// message types. The base URL is configurable (tests run a local server).
// The bot token is a secret: errors carry the URL without it, and answers
// cannot blow up an error's length. It imports no database or service
// package, so its fuzz target builds in seconds.
package botapi

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
	"unicode/utf8"

	"github.com/berthhq/berth/internal/provider"
)

// DefaultAPI is the Bot API's base URL.
const DefaultAPI = "https://api.telegram.org"

// MaxMessage is the longest text sendMessage accepts, in characters.
const MaxMessage = 4096

// Client calls the Bot API with one bot's token.
type Client struct {
	api   string
	token string
	http  *http.Client
}

// NewClient returns a client of the Bot API at api (DefaultAPI when empty).
// pollTimeout is the longest getUpdates wait it will ask for.
func NewClient(api, token string, pollTimeout time.Duration) *Client {
	if api == "" {
		api = DefaultAPI
	}
	return &Client{api: strings.TrimRight(api, "/"), token: token, http: &http.Client{Timeout: pollTimeout + 15*time.Second}}
}

// API is the base URL the client calls (it holds no token).
func (c *Client) API() string { return c.api }

// String names the client without its token.
func (c *Client) String() string { return "telegram bot API " + c.api }

// APIError is a refusal by the Bot API ("ok": false).
type APIError struct {
	Method      string
	Code        int
	Description string
	// RetryAfter is set on 429 (flood control).
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("telegram %s: %d %s", e.Method, e.Code, e.Description)
}

// maxRetryAfter bounds, in seconds, the wait a flood-control answer can
// ask for (a huge retry_after would overflow time.Duration).
const maxRetryAfter = 3600

// maxErrText bounds, in characters, the text an answer can put into an
// error: errors are logged on every retry.
const maxErrText = 400

// redact removes the token from a text (errors of net/http quote the URL),
// then cuts it to maxErrText characters.
func (c *Client) redact(s string) string {
	return Truncate(provider.Redact(s, c.token, "<token>"), maxErrText)
}

type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// call posts in as JSON to method and decodes the result into out.
func (c *Client) call(ctx context.Context, method string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/bot"+c.token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return errors.New(c.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("telegram %s: %s", method, c.redact(err.Error()))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("telegram %s: %s", method, c.redact(err.Error()))
	}
	var r apiResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("telegram %s: HTTP %d, not a Bot API answer", method, resp.StatusCode)
	}
	if r.OK && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		// A failed request (a proxy's error page, a redirect) is no success.
		return fmt.Errorf("telegram %s: HTTP %d with \"ok\": true, not a Bot API answer", method, resp.StatusCode)
	}
	if !r.OK {
		code := r.ErrorCode
		if code == 0 {
			code = resp.StatusCode
		}
		return &APIError{Method: method, Code: code, Description: c.redact(r.Description), RetryAfter: time.Duration(min(max(r.Parameters.RetryAfter, 0), maxRetryAfter)) * time.Second}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("telegram %s: result: %s", method, c.redact(err.Error()))
	}
	return nil
}

// Chat is the chat of a message.
type Chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

// User is who sent a message.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// Message is an incoming (or sent) message.
type Message struct {
	MessageID int64  `json:"message_id"`
	Chat      Chat   `json:"chat"`
	From      *User  `json:"from,omitempty"`
	Text      string `json:"text"`
}

// Update is one incoming update of getUpdates.
type Update struct {
	UpdateID int64    `json:"update_id"`
	Message  *Message `json:"message,omitempty"`
}

// GetUpdates long-polls for updates from offset on, waiting up to timeout.
func (c *Client) GetUpdates(ctx context.Context, offset int64, timeout time.Duration) ([]Update, error) {
	var ups []Update
	err := c.call(ctx, "getUpdates", map[string]any{"offset": offset, "timeout": int(timeout.Seconds()),
		"allowed_updates": []string{"message"}}, &ups)
	return ups, err
}

// SendMessage sends plain text (cut to MaxMessage characters) to a chat.
func (c *Client) SendMessage(ctx context.Context, chatID int64, text string) error {
	return c.call(ctx, "sendMessage", map[string]any{"chat_id": chatID, "text": Truncate(text, MaxMessage),
		"link_preview_options": map[string]bool{"is_disabled": true}}, nil)
}

// Truncate cuts s to at most n characters, ending with … when cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
