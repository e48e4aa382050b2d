package crashpoint

import "testing"

func TestHit(t *testing.T) {
	died := 0
	old := die
	die = func() { died++ }
	t.Cleanup(func() { die = old; parse("") })

	parse("")
	Hit("deliver.before-put")
	if died != 0 {
		t.Fatal("disarmed Hit killed")
	}
	parse("deliver.before-put")
	Hit("deliver.after-put")
	Hit("deliver.before-put")
	if died != 1 {
		t.Fatalf("armed Hit: %d deaths, want 1", died)
	}
	parse("place.after-reserve:3")
	Hit("place.after-reserve")
	Hit("place.after-reserve")
	if died != 1 {
		t.Fatal("killed before the 3rd hit")
	}
	Hit("place.after-reserve")
	Hit("place.after-reserve")
	if died != 2 {
		t.Fatalf("3rd hit: %d deaths, want 2", died)
	}
}
