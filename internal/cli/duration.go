package cli

import (
	"flag"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// durationValue is a flag.Value read by model.ParseDuration, so duration
// flags take days too (--valid-for 30d, 1d12h).
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := model.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return time.Duration(*d).String() }

// durationFlag defines a duration flag on fs, as fs.Duration does, that
// also takes days (model.ParseDuration).
func durationFlag(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	*p = value
	durationVar(fs, p, name, usage)
	return p
}

// durationVar is durationFlag into p, as fs.DurationVar with the value p
// holds as the default.
func durationVar(fs *flag.FlagSet, p *time.Duration, name, usage string) {
	fs.Var((*durationValue)(p), name, usage)
}
