package config

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Logger builds the process logger from OFFBOARD_LOG_LEVEL and OFFBOARD_LOG_FORMAT.
func (s Source) Logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	lv, label, _ := s.get(EnvLogLevel)
	if lv == "" {
		lv = "info"
	}
	if err := level.UnmarshalText([]byte(lv)); err != nil {
		return nil, fmt.Errorf("%s=%q: want debug, info, warn or error", label, lv)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f, label, _ := s.get(EnvLogFormat); strings.ToLower(f) {
	case "", "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("%s=%q: want json or text", label, f)
	}
}
