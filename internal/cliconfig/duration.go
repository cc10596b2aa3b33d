package cliconfig

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// A duration setting takes a Go duration ("24h", "90s") or a whole number
// of seconds ("86400" is 24h), the way the seed writes its settings: on
// the command line, in RATION_* variables and in the YAML file alike (all
// three reach the flag's Set).

// DurationVar defines a duration flag, like pflag's, that also takes
// whole seconds.
func DurationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	fs.DurationVar(p, name, value, usage)
	acceptSeconds(fs.Lookup(name))
}

// AcceptSeconds makes every duration and duration-list flag fs has so far
// also take whole seconds. Call it once the flags are defined, before
// they are parsed; --help shows them as before.
func AcceptSeconds(fs *pflag.FlagSet) {
	fs.VisitAll(acceptSeconds)
}

func acceptSeconds(f *pflag.Flag) {
	if _, done := f.Value.(secondsValue); done {
		return
	}
	switch f.Value.Type() {
	case "duration", "durationSlice":
	default:
		return
	}
	f.Value = secondsValue{f.Value}
	// pflag leaves out a zero default only for its own duration type.
	if f.DefValue == "0s" {
		f.DefValue = "0"
	}
}

// secondsValue is a pflag duration or duration-list value that turns whole
// seconds into a Go duration before it sets them.
type secondsValue struct{ pflag.Value }

func (v secondsValue) Set(s string) error {
	if v.Type() != "durationSlice" {
		d, err := inSeconds(s)
		if err != nil {
			return err
		}
		return v.Value.Set(d)
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		d, err := inSeconds(p)
		if err != nil {
			return err
		}
		parts[i] = d
	}
	return v.Value.Set(strings.Join(parts, ","))
}

// inSeconds returns s as a Go duration if it is a whole number of seconds,
// and otherwise s, for the duration value to take or refuse.
func inSeconds(s string) (string, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s, nil
	}
	if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
		return "", fmt.Errorf("%s seconds is longer than a duration can be", s)
	}
	return (time.Duration(n) * time.Second).String(), nil
}
