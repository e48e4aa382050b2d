package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/internal/secret"
	"github.com/berthhq/berth/internal/store"
)

// ErrPostgresNeedsKey: on PostgreSQL the key is never looked for or made in
// the working directory, where each replica (or a restart from another
// directory) would make a key of its own.
var ErrPostgresNeedsKey = errors.New("on PostgreSQL berth needs its secret key given explicitly: set BERTH_SECRET_KEY (base64 of 32 bytes) " +
	"or pass --key-file PATH (BERTH_KEY_FILE); no key file is looked for or made in the working directory " +
	"(a berth before this version used ./berth.key of the directory it started in: pass that file with --key-file)")

// KeyFile is the key file cfg names: --key-file (BERTH_KEY_FILE), else
// <db>.key next to a SQLite database. On PostgreSQL it is "" when the key
// comes from BERTH_SECRET_KEY, and ErrPostgresNeedsKey when neither is given.
func KeyFile(cfg *Config) (string, error) {
	if cfg.KeyFile != "" {
		return cfg.KeyFile, nil
	}
	d, path := store.ParseDSN(cfg.DB)
	if d == store.SQLite {
		return path + ".key", nil
	}
	if cfg.SecretKey != "" {
		return "", nil
	}
	return "", ErrPostgresNeedsKey
}

// openKeyed opens the database, then finds its key: cfg.Sealer (tests),
// BERTH_SECRET_KEY, or the key file. A key is made (and its file written,
// 0600) only when the database holds nothing sealed and records no key; the
// key must be the one the database records (store.UseKey). It returns the
// absolute path of a key file it made.
func openKeyed(ctx context.Context, cfg *Config) (*store.Store, string, error) {
	if cfg.Sealer != nil {
		st, err := store.Open(ctx, cfg.DB, cfg.Sealer)
		return st, "", keyError(err, "", "")
	}
	keyFile, err := KeyFile(cfg)
	if err != nil {
		return nil, "", err
	}
	var key []byte
	if cfg.SecretKey != "" {
		if key, err = secret.Parse(cfg.SecretKey); err != nil {
			return nil, "", err
		}
	}
	st, err := store.Open(ctx, cfg.DB, nil)
	if err != nil {
		return nil, "", err
	}
	made := ""
	if key == nil {
		key, err = secret.ReadFile(keyFile)
		if errors.Is(err, os.ErrNotExist) {
			ks, kerr := st.KeyState(ctx)
			if kerr != nil {
				st.Close()
				return nil, "", fmt.Errorf("read the key check: %w", kerr)
			}
			if ks.KeyID != "" || ks.RotatingTo != "" || ks.Sealed {
				st.Close()
				want := ks.KeyID
				if want == "" {
					want = "(not recorded: a database from before key ids)"
				}
				return nil, "", fmt.Errorf("the secret key file %s is missing, and this database holds data sealed under key %s: "+
					"restore the key file %s that was made with it, or set BERTH_SECRET_KEY to that key%s; "+
					"berth makes a new key only for a database that holds nothing sealed",
					keyFile, want, keyFile, whereIs(keyFile, ks.KeyID))
			}
			if key, err = secret.CreateFile(keyFile); err == nil {
				made, _ = filepath.Abs(keyFile)
			}
		}
		if err != nil {
			st.Close()
			return nil, "", err
		}
	}
	box, err := secret.New(key)
	if err != nil {
		st.Close()
		return nil, "", err
	}
	if err := st.UseKey(ctx, box); err != nil {
		st.Close()
		if made != "" {
			// Another replica recorded its key first: this one is of no use.
			os.Remove(made)
		}
		return nil, "", keyError(err, keyFile, cfg.SecretKey)
	}
	return st, made, nil
}

// keyError says what to restore when the key does not open the data.
func keyError(err error, keyFile, env string) error {
	var mm *store.KeyMismatchError
	if !errors.As(err, &mm) {
		return err
	}
	want := mm.Want
	if want == "" {
		want = "the key its sealed values were made with (not recorded: a database from before key ids; a sealed value did not open)"
	}
	var fix string
	switch {
	case env != "":
		fix = "set BERTH_SECRET_KEY to the key that was made with it"
		if keyFile != "" {
			fix += ", or unset it to use the key file " + keyFile
		}
	case keyFile != "":
		fix = "restore the key file " + keyFile + " that was made with it, or set BERTH_SECRET_KEY"
	default:
		fix = "give berth the key that was made with it"
	}
	return fmt.Errorf("the secret key does not open this database's data: %s%s; the key's id is %s, the database expects %s",
		fix, whereIs(keyFile, mm.Want), mm.Have, want)
}

// whereIs names a file beside keyFile (a copy left by berth keys rotate)
// that holds the key with id want, or "".
func whereIs(keyFile, want string) string {
	if keyFile == "" || want == "" {
		return ""
	}
	for _, p := range []string{keyFile + ".old", keyFile + ".new"} {
		if k, err := secret.ReadFile(p); err == nil && secret.KeyID(k) == want {
			return " (" + p + " holds that key)"
		}
	}
	return ""
}
