package sim

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berthhq/berth/internal/provider"
)

func TestDirKeepsMembersAsFiles(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "worker-01") // created on first Put
	cfg := Config{Dir: dir}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := NewRegistry().New("worker-01", cfg)
	if got, err := s.List(ctx); err != nil || len(got) != 0 {
		t.Fatalf("List before any Put = %v, %v; want empty", got, err)
	}

	a, b := server("111"), server("222")
	for _, m := range []provider.Member{a, b, a} {
		if err := s.Put(ctx, m); err != nil {
			t.Fatalf("Put %s: %v", m.ID, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "111.session"))
	if err != nil || string(data) != "data-111" {
		t.Fatalf("file 111.session = %q, %v", data, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "222.session"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("222.session: mode %v, %v; want 0600", fi.Mode(), err)
	}
	// A leftover temporary file (a crash mid-write) is not a member.
	if err := os.WriteFile(filepath.Join(dir, ".333.session.tmp-1"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Another process (here: another registry) sees what was delivered.
	other := NewRegistry().New("worker-01", cfg)
	want := []string{"111.session", "222.session"}
	if got, err := other.List(ctx); err != nil || !slices.Equal(got, want) {
		t.Fatalf("List from another registry = %v, %v; want %v", got, err, want)
	}
	if got := other.Keys(); !slices.Equal(got, want) {
		t.Fatalf("Keys = %v, want %v", got, want)
	}
	if d, ok := other.File("222.session"); !ok || string(d) != "data-222" {
		t.Fatalf("File(222.session) = %q, %v", d, ok)
	}
	if !other.Has("111.session") || other.Has("333.session") || other.Len() != 2 {
		t.Fatalf("Has/Len disagree with the directory: %v %v %d", other.Has("111.session"), other.Has("333.session"), other.Len())
	}
	if ms := other.Members(); len(ms) != 2 || ms[1].FileName != "222.session" || string(ms[1].Data) != "data-222" {
		t.Fatalf("Members = %+v", ms)
	}

	for range 2 { // removing an absent member is not an error
		if err := other.Remove(ctx, a); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "111.session")); !os.IsNotExist(err) {
		t.Fatalf("111.session still there after Remove: %v", err)
	}
	if got, _ := s.List(ctx); !slices.Equal(got, []string{"222.session"}) {
		t.Fatalf("List after Remove = %v", got)
	}
	if s.Has("111.session") || s.Len() != 1 {
		t.Fatalf("first handle still sees the removed member")
	}
}

func TestDirRejectsKeysThatAreNotFileNames(t *testing.T) {
	s := NewRegistry().New("idp", Config{Dir: t.TempDir()})
	err := s.Put(context.Background(), provider.Member{ID: "a/../b"})
	if provider.Classify(err) != provider.MemberPermanent {
		t.Fatalf("Put of id with a slash = %v, want a member-permanent error", err)
	}
	if err := s.Put(context.Background(), provider.Member{ID: "a@example.com"}); err != nil {
		t.Fatalf("Put of id member: %v", err)
	}
	if !s.Has("a@example.com") {
		t.Fatal("id member not kept as a file")
	}
}

func TestDirMustBeAbsolute(t *testing.T) {
	if err := (Config{Dir: "relative/dir"}).Validate(); err == nil {
		t.Fatal("Validate accepted a relative dir")
	}
	if err := (Config{Dir: t.TempDir()}).Validate(); err != nil {
		t.Fatalf("absolute dir: %v", err)
	}
}
