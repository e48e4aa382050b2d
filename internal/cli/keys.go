package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/secret"
	"github.com/berthhq/berth/internal/store"
)

// rotateAfterBatch, when set, runs after each committed batch of a rotation;
// its error stops the rotation as a crash would (tests).
var rotateAfterBatch func() error

const keysUsage = "keys status | keys rotate [--new-key-file PATH] [--batch N] (--db DSN --key-file PATH as for serve)"

// runKeys runs `berth keys status` and `berth keys rotate`.
func runKeys(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"keys: say status or rotate"}
	}
	switch args[0] {
	case "status":
		return runKeysStatus(ctx, args[1:], out, errOut)
	case "rotate":
		return runKeysRotate(ctx, args[1:], out, errOut)
	}
	return usageError{fmt.Sprintf("keys: unknown verb %q", args[0])}
}

func keysFlags(name string, errOut io.Writer) (*flag.FlagSet, *app.Config) {
	fs := newFlags("keys "+name, errOut)
	cfg := &app.Config{}
	fs.StringVar(&cfg.DB, "db", envOr("BERTH_DB", "berth.db"), "database: a file path, sqlite:PATH or postgres://…")
	fs.StringVar(&cfg.KeyFile, "key-file", os.Getenv("BERTH_KEY_FILE"), "secret key file (default: <db>.key on SQLite; ignored when BERTH_SECRET_KEY is set)")
	return fs, cfg
}

// parseKeys parses args, takes the key from BERTH_SECRET_KEY when it is set
// and returns the key file the configuration names (app.KeyFile).
func parseKeys(fs *flag.FlagSet, cfg *app.Config, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	var err error
	if cfg.SecretKey, err = envSecret("BERTH_SECRET_KEY"); err != nil {
		return "", err
	}
	return app.KeyFile(cfg)
}

// runKeysStatus prints the key id the database records, any unfinished
// rotation, and the id of the key this configuration gives; it fails when
// they differ.
func runKeysStatus(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg := keysFlags("status", errOut)
	keyFile, err := parseKeys(fs, cfg, args)
	if err != nil {
		return err
	}
	st, ks, err := openKeyState(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(out, "database expects key  %s\n", orNone(ks.KeyID))
	if ks.RotatingTo != "" {
		fmt.Fprintf(out, "unfinished rotation to %s: run berth keys rotate again\n", ks.RotatingTo)
	}
	key, src, err := currentKey(cfg, keyFile)
	if err != nil {
		return err
	}
	id := secret.KeyID(key)
	fmt.Fprintf(out, "configured key        %s (%s)\n", id, src)
	if ks.KeyID != "" && id != ks.KeyID {
		return fmt.Errorf("the configured key is not the database's key")
	}
	return nil
}

// openKeyState opens the database without a key (the key check reads no
// sealed value) and reads what it records of its key.
func openKeyState(ctx context.Context, db string) (*store.Store, store.KeyState, error) {
	st, err := store.Open(ctx, db, nil)
	if err != nil {
		return nil, store.KeyState{}, err
	}
	ks, err := st.KeyState(ctx)
	if err != nil {
		st.Close()
		return nil, store.KeyState{}, err
	}
	return st, ks, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none recorded)"
	}
	return s
}

// currentKey is the key the configuration gives: BERTH_SECRET_KEY or the
// key file, and where it came from.
func currentKey(cfg *app.Config, keyFile string) ([]byte, string, error) {
	if cfg.SecretKey != "" {
		k, err := secret.Parse(cfg.SecretKey)
		return k, "BERTH_SECRET_KEY", err
	}
	k, err := secret.ReadFile(keyFile)
	return k, keyFile, err
}

// runKeysRotate makes a new key and re-seals every sealed value under it.
//
// With the server stopped (on SQLite the database lock refuses a rotation
// beside a running berth; on PostgreSQL stop every replica first):
//
//  1. the new key is written to a new file, 0600: --new-key-file, or
//     <key file>.new (required with BERTH_SECRET_KEY, whose new value the
//     operator takes from that file);
//  2. the database records "rotating from key A to key B" (berth refuses to
//     start until the rotation finishes);
//  3. every credential file, redeem code (and its lookup hash) and provider
//     setting is re-sealed under B, in batches of --batch rows, each a
//     transaction that records how far it got: an interrupted rotation
//     (crash, Ctrl-C) is finished by running the same command again;
//  4. with a key file: <key file> becomes <key file>.old and the new key
//     takes its place;
//  5. the database records B as its key.
func runKeysRotate(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg := keysFlags("rotate", errOut)
	newFile := fs.String("new-key-file", "", "write the new key to this new file (default: <key file>.new, moved in place of the key file at the end; required with BERTH_SECRET_KEY)")
	batch := fs.Int("batch", store.ResealBatch, "rows re-sealed per transaction")
	keyFile, err := parseKeys(fs, cfg, args)
	if err != nil {
		return err
	}
	envMode := cfg.SecretKey != ""
	if *newFile == "" {
		if envMode {
			return usageError{"the key comes from BERTH_SECRET_KEY: pass --new-key-file PATH to receive the new key"}
		}
		*newFile = keyFile + ".new"
	}
	st, ks, err := openKeyState(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()

	// Every key this configuration can reach, by id.
	keys := map[string][]byte{}
	from := map[string]string{}
	add := func(k []byte, src string) {
		if id := secret.KeyID(k); keys[id] == nil {
			keys[id], from[id] = k, src
		}
	}
	if envMode {
		k, err := secret.Parse(cfg.SecretKey)
		if err != nil {
			return err
		}
		add(k, "BERTH_SECRET_KEY")
	}
	for _, p := range []string{keyFile, keyFile + ".old", *newFile} {
		if p == "" || (envMode && p != *newFile) {
			continue
		}
		if k, err := secret.ReadFile(p); err == nil {
			add(k, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}

	if ks.RotatingTo == "" {
		cur, src, err := currentKey(cfg, keyFile)
		if err != nil {
			return fmt.Errorf("the current key is needed to rotate: %w", err)
		}
		box, err := secret.New(cur)
		if err != nil {
			return err
		}
		// Checks the key (and records its id in a database from before key ids).
		if err := st.UseKey(ctx, box); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if _, err := os.Stat(*newFile); err == nil {
			return fmt.Errorf("%s exists and no rotation is recorded: nothing is sealed under it; remove it (or pass another --new-key-file) and run again", *newFile)
		}
		nk := secret.NewKey()
		if err := secret.WriteFile(*newFile, nk); err != nil {
			return err
		}
		add(nk, *newFile)
		if err := st.RotateBegin(ctx, box.KeyID(), secret.KeyID(nk)); err != nil {
			return err
		}
		ks.KeyID, ks.RotatingTo = box.KeyID(), secret.KeyID(nk)
		fmt.Fprintf(out, "rotating from key %s to key %s (new key in %s)\n", ks.KeyID, ks.RotatingTo, *newFile)
	} else {
		fmt.Fprintf(out, "finishing the rotation from key %s to key %s\n", ks.KeyID, ks.RotatingTo)
	}
	oldKey, newKey := keys[ks.KeyID], keys[ks.RotatingTo]
	if oldKey == nil || newKey == nil {
		return fmt.Errorf("the rotation from key %s to key %s needs both keys: the old one as BERTH_SECRET_KEY, the key file or %s.old, "+
			"the new one in %s (found: %v)", ks.KeyID, ks.RotatingTo, keyFile, *newFile, from)
	}
	oldBox, err := secret.New(oldKey)
	if err != nil {
		return err
	}
	newBox, err := secret.New(newKey)
	if err != nil {
		return err
	}
	n, err := st.Reseal(ctx, newBox, oldBox, *batch, rotateAfterBatch)
	if err != nil {
		return fmt.Errorf("re-sealing stopped after %d values (run berth keys rotate again to finish): %w", n, err)
	}
	if !envMode {
		if err := placeKeyFile(keyFile, from[ks.RotatingTo], ks.KeyID, ks.RotatingTo); err != nil {
			return err
		}
	}
	if err := st.RotateFinish(ctx, ks.RotatingTo); err != nil {
		return err
	}
	fmt.Fprintf(out, "re-sealed %d values: the database's key is now %s\n", n, ks.RotatingTo)
	if envMode {
		fmt.Fprintf(out, "set BERTH_SECRET_KEY to the content of %s before starting berth, then delete that file\n", *newFile)
	} else {
		fmt.Fprintf(out, "key file %s holds the new key; the old key is in %s.old: keep it as long as you keep database backups made before now\n", keyFile, keyFile)
	}
	return nil
}

// placeKeyFile moves the new key (in newPath) to keyFile, keeping the old
// key as keyFile.old. Each step is a rename, so a re-run after a crash finds
// every key in one of the three files.
func placeKeyFile(keyFile, newPath, oldID, newID string) error {
	if cur, err := secret.ReadFile(keyFile); err == nil && secret.KeyID(cur) == newID {
		return nil // done before a crash
	} else if err == nil && secret.KeyID(cur) == oldID {
		if err := os.Rename(keyFile, keyFile+".old"); err != nil {
			return fmt.Errorf("keep the old key: %w", err)
		}
	} else if err == nil {
		return fmt.Errorf("key file %s holds key %s, neither the old (%s) nor the new (%s)", keyFile, secret.KeyID(cur), oldID, newID)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(newPath, keyFile); err != nil {
		return fmt.Errorf("put the new key in place of %s (it stays in %s): %w", keyFile, newPath, err)
	}
	return secret.SyncDir(filepath.Dir(keyFile))
}
