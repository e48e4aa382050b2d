package placement

import (
	"fmt"
	"slices"
	"testing"
)

// fewConstraints, the stack-buffer lookup of partition, sorts as
// constraints does, with a buffer large enough and with one too small.
func TestFewConstraintsSortsLikeConstraints(t *testing.T) {
	for n := range 12 {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%02d", (i*7)%12)] = fmt.Sprint(i)
		}
		var buf [8]label
		got, want := fewConstraints(buf[:], m), constraints(m)
		if !slices.Equal(got, want) {
			t.Fatalf("%d labels: fewConstraints %v, constraints %v", n, got, want)
		}
		if k := string(appendConstraintKey(nil, got)); k != constraintKey(want) {
			t.Fatalf("%d labels: key %q, want %q", n, k, constraintKey(want))
		}
	}
}
