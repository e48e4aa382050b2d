//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import (
	"errors"
	"os"
)

// haveFlock: not here. The database is not locked and no process counts as
// its owner (jobs left running then wait for River's rescue).
const haveFlock = false

func flockExclusive(*os.File) (bool, error) { return false, errors.New("no flock on this system") }
