package stack

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts slog to the Temporal server's logger. The server is chatty, so it logs only
// at or above its own minimum level, whatever the handler allows; Stop raises that level, because
// the server warns routinely while it shuts down.
type serverLogger struct {
	l   *slog.Logger
	min *slog.LevelVar
}

var _ log.Logger = serverLogger{}

func (s serverLogger) Debug(msg string, tags ...tag.Tag)  { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)   { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)   { s.log(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// Panic and Fatal stop the server code that called them, as the server expects; buildServer
// turns the panic into an error.
func (s serverLogger) Panic(msg string, tags ...tag.Tag) { s.fatal(msg, tags) }

// Fatal: see Panic.
func (s serverLogger) Fatal(msg string, tags ...tag.Tag) { s.fatal(msg, tags) }

func (s serverLogger) fatal(msg string, tags []tag.Tag) {
	s.l.Error(msg, attrs(tags)...)
	f := serverFatal{msg: msg}
	for _, t := range tags {
		f.msg += fmt.Sprintf(" %s=%v", t.Key(), t.Value())
	}
	panic(f)
}

// serverFatal is what a fatal log of the Temporal server panics with.
type serverFatal struct{ msg string }

func (f serverFatal) Error() string { return "temporal server: " + f.msg }

// With returns a logger that prepends tags, so the server does not wrap us in its slow prepender.
func (s serverLogger) With(tags ...tag.Tag) log.Logger {
	return serverLogger{l: s.l.With(attrs(tags)...), min: s.min}
}

func (s serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	if level < s.min.Level() || !s.l.Enabled(context.Background(), level) {
		return
	}
	s.l.Log(context.Background(), level, msg, attrs(tags)...)
}

func attrs(tags []tag.Tag) []any {
	out := make([]any, len(tags))
	for i, t := range tags {
		out[i] = slog.Any(t.Key(), t.Value())
	}
	return out
}
