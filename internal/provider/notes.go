package provider

import (
	"context"
	"strings"
	"sync"
)

// Notes collects what a provider call reports besides its error, for the
// history row of its outcome: the sftp provider's command run after a
// delivery notes its exit status and a redacted part of its output. The
// caller that records the outcome (the delivery job) puts a Notes in the
// call's context with WithNotes; a provider adds to it with Note. Safe for
// concurrent use.
type Notes struct {
	mu   sync.Mutex
	list []string
}

type notesKey struct{}

// WithNotes returns ctx carrying a fresh Notes, and the Notes.
func WithNotes(ctx context.Context) (context.Context, *Notes) {
	n := &Notes{}
	return context.WithValue(ctx, notesKey{}, n), n
}

// Note adds s to the Notes ctx carries, if any; an empty s adds nothing.
func Note(ctx context.Context, s string) {
	n, _ := ctx.Value(notesKey{}).(*Notes)
	if n == nil || s == "" {
		return
	}
	n.mu.Lock()
	n.list = append(n.list, s)
	n.mu.Unlock()
}

// String joins the notes with "; "; a nil Notes is empty.
func (n *Notes) String() string {
	if n == nil {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.list, "; ")
}
