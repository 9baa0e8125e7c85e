package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/offboard/offboard/workflows"
)

// Policy reads the offboarding policy: defaults, then OFFBOARD_POLICY_FILE, then the
// variables and flags of workflows.PolicySettings. It is validated; the error names every bad
// setting.
func (s Source) Policy() (workflows.Policy, error) {
	p := workflows.DefaultPolicy()
	if path, label, ok := s.get(EnvPolicyFile); ok {
		if err := applyPolicyFile(&p, path); err != nil {
			return p, fmt.Errorf("%s=%s: %w", label, path, err)
		}
	}
	var errs []error
	for _, setting := range workflows.PolicySettings() {
		if v, label, ok := s.get(setting.Env); ok {
			errs = append(errs, setText(setting.Field(&p), label, v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return p, err
	}
	if err := p.Validate(); err != nil {
		return p, namePolicyFields(err)
	}
	return p, nil
}

// setText parses v, the value of the variable or flag label, into the setting dst points at.
func setText(dst any, label, v string) error {
	switch dst := dst.(type) {
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s=%q: want a whole number such as 1 or 2", label, v)
		}
		*dst = n
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s=%q: want true or false", label, v)
		}
		*dst = b
	case *float64:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%s=%q: want a fraction such as 0.5", label, v)
		}
		*dst = f
	case *[]string:
		*dst = splitList(v)
	case *time.Duration:
		iso, err := workflows.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		*dst = time.Duration(iso)
	default:
		panic(fmt.Sprintf("policy setting %s has a field of unknown kind %T", label, dst))
	}
	return nil
}

// formatValue writes the setting src points at as its variable would be written: durations in
// ISO-8601, lists comma-separated, and nothing for an empty list.
func formatValue(src any) string {
	switch src := src.(type) {
	case *int:
		return strconv.Itoa(*src)
	case *bool:
		return strconv.FormatBool(*src)
	case *float64:
		return strconv.FormatFloat(*src, 'g', -1, 64)
	case *[]string:
		return strings.Join(*src, ",")
	case *time.Duration:
		return workflows.Duration(*src).String()
	}
	panic(fmt.Sprintf("policy setting of unknown kind %T", src))
}

// flagType is the Var.Type of a policy setting whose field is src: ISO-8601 durations and lists
// are text.
func flagType(src any) string {
	switch src.(type) {
	case *int:
		return "int"
	case *bool:
		return "bool"
	case *float64:
		return "float"
	}
	return ""
}

// namePolicyFields rewrites a policy validation error so that each field names its variable.
func namePolicyFields(err error) error {
	var v *workflows.ValidationError
	if !errors.As(err, &v) {
		return fmt.Errorf("invalid policy: %w", err)
	}
	errs := make([]error, 0, len(v.Fields))
	for _, f := range v.Fields {
		key, _, _ := strings.Cut(f.Field, "[")
		name := EnvPolicyFile
		if setting, ok := policySetting(key); ok {
			name = setting.Env
		}
		errs = append(errs, fmt.Errorf("invalid policy: %s (policy field %s): %s", name, f.Field, f.Message))
	}
	return errors.Join(errs...)
}

func policySetting(key string) (workflows.PolicySetting, bool) {
	settings := workflows.PolicySettings()
	i := slices.IndexFunc(settings, func(s workflows.PolicySetting) bool { return s.Key == key })
	if i < 0 {
		return workflows.PolicySetting{}, false
	}
	return settings[i], true
}

// applyPolicyFile applies the OFFBOARD_POLICY_FILE at path: JSON or YAML whose keys are the
// settings' keys, durations as ISO-8601 strings. An absent or null key keeps the value.
func applyPolicyFile(p *workflows.Policy, path string) error {
	var keys []string
	for _, s := range workflows.PolicySettings() {
		keys = append(keys, s.Key)
	}
	hint := " (keys: " + strings.Join(keys, ", ") + ")"
	values, err := readPolicyFile(path)
	if err != nil {
		return fmt.Errorf("%w%s", err, hint)
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if !slices.Contains(keys, k) {
			return fmt.Errorf("policy file: json: unknown field %q%s", k, hint)
		}
	}
	var errs []error
	for _, s := range workflows.PolicySettings() {
		if v, ok := values[s.Key]; ok && !bytes.Equal(v, []byte("null")) {
			if err := setJSON(s.Field(p), v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.Key, err))
			}
		}
	}
	return errors.Join(errs...)
}

// setJSON decodes v into the setting dst points at; a duration is an ISO-8601 string, and an
// empty one keeps the value.
func setJSON(dst any, v json.RawMessage) error {
	d, ok := dst.(*time.Duration)
	if !ok {
		return json.Unmarshal(v, dst)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil || s == "" {
		return err
	}
	iso, err := workflows.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = time.Duration(iso)
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// PolicyOver reads the policy as Policy does, over defaults (variables by name) that apply only
// to the settings that neither a variable, a flag nor the policy file sets: the devstack's dev
// policy under the operator's own settings.
func (s Source) PolicyOver(defaults map[string]string) (workflows.Policy, error) {
	var inFile []string
	if path, label, ok := s.get(EnvPolicyFile); ok {
		keys, err := policyFileKeys(path)
		if err != nil {
			return workflows.Policy{}, fmt.Errorf("%s=%s: %w", label, path, err)
		}
		inFile = keys
	}
	under := MapEnv{}
	for _, setting := range workflows.PolicySettings() {
		if v, ok := defaults[setting.Env]; ok && !slices.Contains(inFile, setting.Key) {
			under[setting.Env] = v
		}
	}
	return Source{Env: layeredEnv{over: s.env(), under: under}, Flags: s.Flags}.Policy()
}

// policyFileKeys lists the keys a policy file sets.
func policyFileKeys(path string) ([]string, error) {
	values, err := readPolicyFile(path)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(values)), nil
}

// readPolicyFile reads a JSON or YAML policy file into its raw values by key.
func readPolicyFile(path string) (map[string]json.RawMessage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("policy file is neither JSON nor YAML: %w", err)
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(js, &values); err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	return values, nil
}

// layeredEnv looks a variable up in over, then in under.
type layeredEnv struct {
	over  Env
	under MapEnv
}

// LookupEnv returns over's value when it is set and not blank, else under's.
func (l layeredEnv) LookupEnv(key string) (string, bool) {
	if v, ok := l.over.LookupEnv(key); ok && strings.TrimSpace(v) != "" {
		return v, true
	}
	return l.under.LookupEnv(key)
}

// Environ lists under's variables, then over's, as KEY=value.
func (l layeredEnv) Environ() []string { return append(l.under.Environ(), l.over.Environ()...) }

// PolicyValue is one setting of a policy as its variable would be written.
type PolicyValue struct {
	Key, Env, Value string
}

// PolicyValues lists every setting of p, in the README's order, as its variable would be written.
func PolicyValues(p workflows.Policy) []PolicyValue {
	var out []PolicyValue
	for _, s := range workflows.PolicySettings() {
		out = append(out, PolicyValue{Key: s.Key, Env: s.Env, Value: formatValue(s.Field(&p))})
	}
	return out
}
