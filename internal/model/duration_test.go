package model

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"30d": 30 * day, "1d12h": day + 12*time.Hour, "1.5d": 36 * time.Hour, "720h": 720 * time.Hour, "90m": 90 * time.Minute,
		"1h30m": 90 * time.Minute, "0": 0, "-2d": -2 * day, "12h1d": day + 12*time.Hour, "1d1d": 2 * day, "500ms": 500 * time.Millisecond,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "30", "30 days", "30days", "1d2", "x1d", "1e3d", "--1d", "1..5d", "200000000d"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v; want an error", in, got)
		}
	}
}

func TestDurationJSONTakesDays(t *testing.T) {
	var c Code
	if err := json.Unmarshal([]byte(`{"valid_for": "30d"}`), &c); err != nil || time.Duration(c.ValidFor) != 720*time.Hour {
		t.Fatalf("30d: %v %v", c.ValidFor, err)
	}
	b, _ := json.Marshal(c)
	var back Code
	if err := json.Unmarshal(b, &back); err != nil || back.ValidFor != c.ValidFor {
		t.Fatalf("round trip %s: %v %v", b, back.ValidFor, err)
	}
	if err := json.Unmarshal([]byte(`{"valid_for": "a month"}`), &c); err == nil {
		t.Fatal("a month was taken")
	}
}
