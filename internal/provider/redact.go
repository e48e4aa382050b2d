package provider

import "strings"

// Redact replaces every occurrence of secret in s with label, so that what
// a server echoes back (an error body quoting the Authorization header, a
// redirect's Location) never carries a token or signing secret into
// berth's errors and logs. An empty secret changes nothing.
func Redact(s, secret, label string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, label)
}

// Scrub returns err with secret hidden (as label) and its message cut to
// max bytes, when either is needed, else err itself: for transport errors,
// which can quote what a server sent (a redirect's Location that Go cannot
// parse, quoted twice).
func Scrub(err error, secret, label string, max int) error {
	msg := err.Error()
	if (secret == "" || !strings.Contains(msg, secret)) && len(msg) <= max {
		return err
	}
	if msg = Redact(msg, secret, label); len(msg) > max {
		msg = strings.ToValidUTF8(msg[:max], "") + "…"
	}
	return Scrubbed{Msg: msg, Err: err}
}

// Scrubbed is an error whose message was cleaned (a secret hidden, the
// length clipped). It unwraps to the original error, so errors.As and
// errors.Is still find the cause.
type Scrubbed struct {
	Msg string
	Err error
}

func (e Scrubbed) Error() string { return e.Msg }
func (e Scrubbed) Unwrap() error { return e.Err }
