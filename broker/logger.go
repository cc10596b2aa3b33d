package broker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"
)

// kfakeLogger sends kfake's logs to slog. kfake logs group joins and failed
// requests at info; for a broker that is debug material, so info and debug
// go to debug and only warnings and errors are visible at ration's default
// level.
type kfakeLogger struct{ log *slog.Logger }

var _ kfake.Logger = kfakeLogger{}

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	lv := slog.LevelDebug
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	}
	ctx := context.Background()
	if !l.log.Enabled(ctx, lv) { // skip formatting what nobody reads
		return
	}
	l.log.Log(ctx, lv, fmt.Sprintf(format, args...))
}

// quietKgoLogger keeps the broker's own franz-go clients (the schema
// journal) at warnings unless ration logs at debug.
type quietKgoLogger struct{ *kslog.Logger }

func (l quietKgoLogger) Level() kgo.LogLevel {
	lv := l.Logger.Level()
	if lv >= kgo.LogLevelDebug {
		return kgo.LogLevelInfo
	}
	return min(lv, kgo.LogLevelWarn)
}

func kgoLogger(log *slog.Logger) kgo.Opt {
	return kgo.WithLogger(quietKgoLogger{kslog.New(log)})
}
