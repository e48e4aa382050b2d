package store

import (
	"encoding/json"
	"fmt"

	"github.com/berthhq/berth/internal/model"
)

// whyArg is a placement reason's data as a column value: its JSON, or NULL
// when there is none (migration 009).
func whyArg(w *model.Why) any {
	if w == nil {
		return nil
	}
	b, err := json.Marshal(w)
	if err != nil { // a struct of plain fields cannot fail
		return nil
	}
	return string(b)
}

// whyDest scans a why column into *dst: nil for NULL (rows written before
// migration 009, and reasons that are not a placement's).
type whyDest struct{ dst **model.Why }

func (d whyDest) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case nil:
		*d.dst = nil
		return nil
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("why column: unexpected %T", v)
	}
	if len(b) == 0 {
		*d.dst = nil
		return nil
	}
	w := new(model.Why)
	if err := json.Unmarshal(b, w); err != nil {
		return fmt.Errorf("why column: %w", err)
	}
	*d.dst = w
	return nil
}
