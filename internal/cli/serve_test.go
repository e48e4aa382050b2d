package cli

import (
	"strings"
	"testing"
	"time"
)

func TestEnvPositive(t *testing.T) {
	const name = "BERTH_TEST_ENV_POSITIVE"
	for _, tc := range []struct {
		v    string
		d    time.Duration
		n    int
		dErr string // "": no error
		nErr string
	}{
		{v: ""},
		{v: "30s", d: 30 * time.Second, nErr: "want a positive whole number"},
		{v: "1d", d: 24 * time.Hour, nErr: "want a positive whole number"},
		{v: "12", n: 12, dErr: "want a positive duration such as 30s, 2m or 1d"},
		{v: "0", dErr: "positive duration", nErr: "positive whole number"},
		{v: "-2m", dErr: "positive duration", nErr: "positive whole number"},
		{v: "soon", dErr: `BERTH_TEST_ENV_POSITIVE="soon": want a positive duration`, nErr: `BERTH_TEST_ENV_POSITIVE="soon": want a positive whole number`},
	} {
		t.Setenv(name, tc.v)
		d, err := envDuration(name)
		if tc.dErr == "" && (err != nil || d != tc.d) || tc.dErr != "" && (err == nil || !strings.Contains(err.Error(), tc.dErr) || d != 0) {
			t.Errorf("envDuration(%q) = %v, %v; want %v, error %q", tc.v, d, err, tc.d, tc.dErr)
		}
		n, err := envInt(name)
		if tc.nErr == "" && (err != nil || n != tc.n) || tc.nErr != "" && (err == nil || !strings.Contains(err.Error(), tc.nErr) || n != 0) {
			t.Errorf("envInt(%q) = %v, %v; want %v, error %q", tc.v, n, err, tc.n, tc.nErr)
		}
	}
}
