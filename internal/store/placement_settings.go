package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/berthhq/berth/internal/model"
)

// The strategy per pool kind and group (table placement_settings, migration
// 011; docs/design.md, "Placement").

// PlacementSettings lists every stored strategy, by kind then group.
func (q *Queries) PlacementSettings(ctx context.Context) ([]model.PlacementSetting, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT kind, group_name, strategy, updated_by, updated_at
		FROM placement_settings ORDER BY kind, group_name`)
	return scanAll(rows, err, func(r rowScanner) (s model.PlacementSetting, err error) {
		var at int64
		err = r.Scan(&s.Kind, &s.Group, &s.Strategy, &s.UpdatedBy, &at)
		s.UpdatedAt = fromMicros(at)
		return s, err
	})
}

// PlacementSettingSet stores the strategy of a kind and group ("" for the
// kind's default), replacing what was there; an empty strategy deletes the
// row (the group falls back to its kind's default, the kind to pack). It
// reports the setting as it was before (zero Strategy when none).
func (q *Queries) PlacementSettingSet(ctx context.Context, s model.PlacementSetting) (before model.PlacementSetting, err error) {
	before = model.PlacementSetting{Kind: s.Kind, Group: s.Group}
	var at int64
	err = q.db.QueryRowContext(ctx, `SELECT strategy, updated_by, updated_at FROM placement_settings WHERE kind = $1 AND group_name = $2`,
		string(s.Kind), s.Group).Scan(&before.Strategy, &before.UpdatedBy, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return before, err
	default:
		before.UpdatedAt = fromMicros(at)
	}
	if s.Strategy == "" {
		_, err = q.db.ExecContext(ctx, `DELETE FROM placement_settings WHERE kind = $1 AND group_name = $2`, string(s.Kind), s.Group)
		return before, err
	}
	_, err = q.db.ExecContext(ctx, `INSERT INTO placement_settings (kind, group_name, strategy, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (kind, group_name) DO UPDATE SET strategy = excluded.strategy, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		string(s.Kind), s.Group, s.Strategy, s.UpdatedBy, micros(q.now()))
	return before, err
}
