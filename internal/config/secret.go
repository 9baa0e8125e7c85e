package config

import (
	"fmt"
	"os"
)

// secretText reads a secret given either as a file (fileVar) or as the value of envVar, and
// returns it with the label errors about its content name (never the content itself). ok is
// false when neither is set; both set is an error.
func (s Source) secretText(fileVar, envVar string) (text []byte, label string, ok bool, err error) {
	path, fileLabel, fromFile := s.get(fileVar)
	v, label, fromEnv := s.get(envVar)
	switch {
	case fromFile && fromEnv:
		return nil, "", false, fmt.Errorf("%s and %s are both set: set one", fileLabel, label)
	case fromFile:
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, "", false, fmt.Errorf("%s: %w", fileLabel, err)
		}
		return b, fileLabel + "=" + path, true, nil
	case fromEnv:
		return []byte(v), label, true, nil
	}
	return nil, "", false, nil
}
