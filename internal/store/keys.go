package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/berthhq/berth/internal/codes"
)

// The settings rows that tie the database to its secret key. The key itself
// is never stored; its id (secret.KeyID, a one-way hash) is.
const (
	settingKeyID       = "secret_key_id"              // the key every sealed value opens with
	settingKeyRotating = "secret_key_rotating_to"     // the key an unfinished rotation re-seals to
	settingKeyProgress = "secret_key_rotate_progress" // "<table> <last id>", or "done"
)

// KeyIdentifier is a Sealer that names its key (secret.Box).
// Only such a Sealer is checked against the database.
type KeyIdentifier interface{ KeyID() string }

// KeyState is what the database records about its secret key.
type KeyState struct {
	// KeyID is the id of the key the data is sealed under; empty in a
	// database made before key ids were recorded, or never opened with a key.
	KeyID string
	// RotatingTo is the id of the key an unfinished rotation re-seals to.
	RotatingTo string
	// Sealed reports that the database holds sealed values (credential
	// files, redeem codes, provider settings).
	Sealed bool
}

// KeyMismatchError: the key given does not open the database's data.
type KeyMismatchError struct {
	Have string // the given key's id
	Want string // the id the database records; empty when it records none
}

func (e *KeyMismatchError) Error() string {
	want := e.Want
	if want == "" {
		want = "the key its sealed values were made with (this database predates key ids: a sealed value did not open)"
	}
	return fmt.Sprintf("the secret key does not open this database's data: the key's id is %s, the database expects %s", e.Have, want)
}

// RotationUnfinishedError: a key rotation stopped half way; values are
// sealed under two keys until `berth keys rotate` runs again and finishes.
type RotationUnfinishedError struct{ From, To string }

func (e *RotationUnfinishedError) Error() string {
	return fmt.Sprintf("a secret key rotation from key %s to key %s did not finish: run `berth keys rotate` again with the same key files to finish it before starting berth", e.From, e.To)
}

// KeyState reads what the database records about its key.
func (s *Store) KeyState(ctx context.Context) (KeyState, error) {
	var st KeyState
	var err error
	if st.KeyID, err = s.setting(ctx, settingKeyID); err != nil {
		return st, err
	}
	if st.RotatingTo, err = s.setting(ctx, settingKeyRotating); err != nil {
		return st, err
	}
	var n int
	err = s.DB.QueryRowContext(ctx, `SELECT CASE WHEN EXISTS (SELECT 1 FROM pools) OR EXISTS (SELECT 1 FROM codes)
		OR EXISTS (SELECT 1 FROM members WHERE file_data IS NOT NULL) THEN 1 ELSE 0 END`).Scan(&n)
	st.Sealed = n == 1
	return st, err
}

// setting reads a settings row, "" when unset.
func (s *Store) setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// UseKey makes the store seal with seal after checking that it is the key
// of the database's data: the recorded key id must match; a database that
// records none but holds sealed values (made before key ids) must open one
// value of each kind with it. The key's id is recorded on first use.
// A Sealer that does not name its key is used unchecked.
func (s *Store) UseKey(ctx context.Context, seal Sealer) error {
	ki, ok := seal.(KeyIdentifier)
	if !ok {
		s.seal = seal
		return nil
	}
	have := ki.KeyID()
	var st KeyState
	var err error
	if st.KeyID, err = s.setting(ctx, settingKeyID); err != nil {
		return fmt.Errorf("read the key check: %w", err)
	}
	if st.RotatingTo, err = s.setting(ctx, settingKeyRotating); err != nil {
		return fmt.Errorf("read the key check: %w", err)
	}
	if st.RotatingTo != "" {
		return &RotationUnfinishedError{From: st.KeyID, To: st.RotatingTo}
	}
	if st.KeyID == "" {
		// A new database, or one from before key ids: every kind of sealed
		// value it holds must open.
		if opens, err := s.openSample(ctx, seal); err != nil {
			return fmt.Errorf("read a sealed value: %w", err)
		} else if !opens {
			return &KeyMismatchError{Have: have}
		}
		if _, err := s.DB.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
			settingKeyID, have); err != nil {
			return fmt.Errorf("record the key check: %w", err)
		}
		// Another replica may have recorded its key first.
		if st.KeyID, err = s.setting(ctx, settingKeyID); err != nil {
			return err
		}
	}
	if st.KeyID != have {
		return &KeyMismatchError{Have: have, Want: st.KeyID}
	}
	s.seal = seal
	return nil
}

// sealedColumns lists every column holding sealed values.
var sealedColumns = []struct{ table, column string }{
	{"pools", "provider_config"},
	{"codes", "sealed"},
	{"members", "file_data"},
	{"idempotency_keys", "body"}, // answers kept for retries (idempotency.go)
}

// openSample reports whether seal opens the first sealed value of each kind.
func (s *Store) openSample(ctx context.Context, seal Sealer) (bool, error) {
	for _, c := range sealedColumns {
		var v []byte
		err := s.DB.QueryRowContext(ctx, `SELECT `+c.column+` FROM `+c.table+` WHERE `+c.column+` IS NOT NULL ORDER BY id LIMIT 1`).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return false, err
		}
		if _, err := seal.Open(v); err != nil {
			return false, nil
		}
	}
	return true, nil
}

// RotateBegin records that the data sealed under key from is being
// re-sealed under key to. It is a no-op when that rotation is already
// recorded (a re-run); any other unfinished rotation is an error.
func (s *Store) RotateBegin(ctx context.Context, from, to string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		cur, err := tx.settingTx(ctx, settingKeyID)
		if err != nil {
			return err
		}
		rot, err := tx.settingTx(ctx, settingKeyRotating)
		if err != nil {
			return err
		}
		switch {
		case rot == to && cur == from:
			return nil
		case rot != "":
			return &RotationUnfinishedError{From: cur, To: rot}
		case cur != from:
			return &KeyMismatchError{Have: from, Want: cur}
		}
		if err := tx.settingPut(ctx, settingKeyRotating, to); err != nil {
			return err
		}
		return tx.settingPut(ctx, settingKeyProgress, sealedColumns[0].table+" 0")
	})
}

// ResealBatch is how many rows one transaction of Reseal re-seals.
const ResealBatch = 200

// Reseal re-seals every sealed value under newKey (and recomputes the codes'
// lookup hashes with it), from where the recorded progress says, batch rows
// per transaction, each recording its progress, so an interrupted rotation
// goes on where it stopped. A value that opens under newKey is left alone;
// any other must open under oldKey. afterBatch, when set, runs after each
// committed batch; an error from it stops Reseal (tests interrupt with it).
// A last pass over everything re-seals what a process still running with
// the old key wrote meanwhile; it returns how many values were re-sealed.
func (s *Store) Reseal(ctx context.Context, newKey, oldKey Sealer, batch int, afterBatch func() error) (int, error) {
	if batch <= 0 {
		batch = ResealBatch
	}
	total := 0
	for {
		prog, err := s.setting(ctx, settingKeyProgress)
		if err != nil {
			return total, err
		}
		if prog == "done" || prog == "" {
			break
		}
		table, last, ok := parseProgress(prog)
		if !ok {
			return total, fmt.Errorf("unreadable key rotation progress %q", prog)
		}
		n, next, err := s.resealBatch(ctx, newKey, oldKey, table, last, batch, true)
		total += n
		if err != nil {
			return total, err
		}
		if next == "done" {
			break
		}
		if afterBatch != nil {
			if err := afterBatch(); err != nil {
				return total, err
			}
		}
	}
	// The check pass: nothing left under the old key.
	for range 3 {
		changed := 0
		for _, c := range sealedColumns {
			last := int64(0)
			for {
				n, next, err := s.resealBatch(ctx, newKey, oldKey, c.table, last, batch, false)
				total += n
				changed += n
				if err != nil {
					return total, err
				}
				t, l, ok := parseProgress(next)
				if !ok || t != c.table {
					break
				}
				last = l
			}
		}
		if changed == 0 {
			return total, nil
		}
	}
	return total, errors.New("values keep being sealed under the old key while re-sealing: stop every berth process using this database, then run berth keys rotate again")
}

func parseProgress(p string) (string, int64, bool) {
	var table string
	var last int64
	if _, err := fmt.Sscanf(p, "%s %d", &table, &last); err != nil {
		return "", 0, false
	}
	for _, c := range sealedColumns {
		if c.table == table {
			return table, last, true
		}
	}
	return "", 0, false
}

// resealBatch re-seals up to batch values of table after id last in one
// transaction and returns how many it changed and where to go on ("<table>
// <id>", the next table's "<table> 0", or "done"); record stores that as the
// rotation's progress in the same transaction.
func (s *Store) resealBatch(ctx context.Context, newKey, oldKey Sealer, table string, last int64, batch int, record bool) (int, string, error) {
	var col string
	idx := 0
	for i, c := range sealedColumns {
		if c.table == table {
			col, idx = c.column, i
		}
	}
	changed := 0
	next := ""
	err := s.InTx(ctx, func(tx *Tx) error {
		changed, next = 0, ""
		query := `SELECT id, ` + col + ` FROM ` + table + ` WHERE id > $1 AND ` + col + ` IS NOT NULL ORDER BY id LIMIT $2`
		if s.Dialect == Postgres {
			query += ` FOR UPDATE`
		}
		type row struct {
			id    int64
			value []byte
		}
		rows, err := tx.SQL.QueryContext(ctx, query, last, batch)
		rs, err := scanAll(rows, err, func(sc rowScanner) (row, error) {
			var r row
			err := sc.Scan(&r.id, &r.value)
			return r, err
		})
		if err != nil {
			return err
		}
		type update struct {
			id     int64
			value  []byte
			lookup string
		}
		var ups []update
		for _, r := range rs {
			if _, err := newKey.Open(r.value); err == nil {
				continue
			}
			plain, err := oldKey.Open(r.value)
			if err != nil {
				return fmt.Errorf("%s %d: the value opens under neither the old nor the new key: %w", table, r.id, err)
			}
			u := update{id: r.id, value: newKey.Seal(plain)}
			if table == "codes" {
				norm, err := codes.Normalize(string(plain))
				if err != nil {
					return fmt.Errorf("code %d: %w", r.id, err)
				}
				u.lookup = newKey.MAC([]byte(norm))
			}
			ups = append(ups, u)
		}
		changed = len(ups)
		set := col + ` = $2`
		if table == "codes" {
			set += `, lookup = $3`
		}
		if s.Dialect == Postgres && len(ups) > 0 {
			// One statement a batch: a round trip per row was most of the time.
			var b strings.Builder
			args := make([]any, 0, 3*len(ups))
			for i, u := range ups {
				if i > 0 {
					b.WriteString(", ")
				}
				n := len(args)
				if table == "codes" {
					fmt.Fprintf(&b, "($%d::bigint, $%d::bytea, $%d::text)", n+1, n+2, n+3)
					args = append(args, u.id, u.value, u.lookup)
				} else {
					fmt.Fprintf(&b, "($%d::bigint, $%d::bytea, ''::text)", n+1, n+2)
					args = append(args, u.id, u.value)
				}
			}
			set := col + ` = v.value`
			if table == "codes" {
				set += `, lookup = v.lookup`
			}
			if _, err := tx.SQL.ExecContext(ctx, `UPDATE `+table+` SET `+set+` FROM (VALUES `+b.String()+`) AS v (id, value, lookup)
				WHERE `+table+`.id = v.id`, args...); err != nil {
				return err
			}
		} else {
			for _, u := range ups {
				args := []any{u.id, u.value}
				if table == "codes" {
					args = append(args, u.lookup)
				}
				if _, err := tx.SQL.ExecContext(ctx, `UPDATE `+table+` SET `+set+` WHERE id = $1`, args...); err != nil {
					return err
				}
			}
		}
		switch {
		case len(rs) == batch:
			next = fmt.Sprintf("%s %d", table, rs[len(rs)-1].id)
		case idx+1 < len(sealedColumns):
			next = sealedColumns[idx+1].table + " 0"
		default:
			next = "done"
		}
		if record {
			return tx.settingPut(ctx, settingKeyProgress, next)
		}
		return nil
	})
	return changed, next, err
}

// RotateFinish records key to as the key of the database's data and
// forgets the rotation.
func (s *Store) RotateFinish(ctx context.Context, to string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if rot, err := tx.settingTx(ctx, settingKeyRotating); err != nil {
			return err
		} else if rot != to {
			return fmt.Errorf("no rotation to key %s is recorded (recorded: %q)", to, rot)
		}
		if err := tx.settingPut(ctx, settingKeyID, to); err != nil {
			return err
		}
		_, err := tx.SQL.ExecContext(ctx, `DELETE FROM settings WHERE key IN ($1, $2)`, settingKeyRotating, settingKeyProgress)
		return err
	})
}

func (tx *Tx) settingTx(ctx context.Context, key string) (string, error) {
	var v string
	err := tx.SQL.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return strings.TrimSpace(v), err
}

func (tx *Tx) settingPut(ctx context.Context, key, value string) error {
	_, err := tx.SQL.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
