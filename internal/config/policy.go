package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/offboard/offboard/workflows"
)

// policyFile is the OFFBOARD_POLICY_FILE format: durations are ISO-8601 strings; an absent key
// keeps the default.
type policyFile struct {
	ApprovalsRequired   *int     `json:"approvalsRequired"`
	ApproveArchive      *bool    `json:"approveArchive"`
	RequesterMayApprove *bool    `json:"requesterMayApprove"`
	Approvers           []string `json:"approvers"`
	ApprovalTimeout     string   `json:"approvalTimeout"`
	EscalationFraction  *float64 `json:"escalationFraction"`
	EscalateTo          []string `json:"escalateTo"`
	DefaultRetention    string   `json:"defaultRetention"`
	MinRetention        string   `json:"minRetention"`
	MaxRetention        string   `json:"maxRetention"`
	ExportLookback      string   `json:"exportLookback"`
	ExportWindow        string   `json:"exportWindow"`
	ProtectedUserIDs    []string `json:"protectedUserIds"`
}

// Policy reads the offboarding policy: defaults, then OFFBOARD_POLICY_FILE, then the
// variables and flags. It is validated; the error names every bad setting.
func (s Source) Policy() (workflows.Policy, error) {
	p := workflows.DefaultPolicy()
	var errs []error
	if path, label, ok := s.get(EnvPolicyFile); ok {
		if err := applyPolicyFile(&p, path); err != nil {
			return p, fmt.Errorf("%s=%s: %w", label, path, err)
		}
	}
	if v, label, ok := s.get(EnvApprovalsRequired); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number such as 1 or 2", label, v))
		}
		p.ApprovalsRequired = n
	}
	s.boolVar(EnvApproveArchive, &p.ApproveArchive, &errs)
	s.boolVar(EnvRequesterMayApprove, &p.RequesterMayApprove, &errs)
	if v, _, ok := s.get(EnvApprovers); ok {
		p.Approvers = splitList(v)
	}
	if v, _, ok := s.get(EnvEscalateTo); ok {
		p.EscalateTo = splitList(v)
	}
	if v, _, ok := s.get(EnvProtectedUserIDs); ok {
		p.ProtectedUserIDs = splitList(v)
	}
	if v, label, ok := s.get(EnvEscalationFraction); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want a fraction such as 0.5", label, v))
		}
		p.EscalationFraction = f
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{EnvApprovalTimeout, &p.ApprovalTimeout},
		{EnvRetentionDefault, &p.DefaultRetention},
		{EnvRetentionMin, &p.MinRetention},
		{EnvRetentionMax, &p.MaxRetention},
		{EnvExportLookback, &p.ExportLookback},
		{EnvExportWindow, &p.ExportWindow},
	} {
		if v, label, ok := s.get(d.name); ok {
			iso, err := workflows.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", label, err))
				continue
			}
			*d.dst = time.Duration(iso)
		}
	}
	if len(errs) > 0 {
		return p, errors.Join(errs...)
	}
	if err := p.Validate(); err != nil {
		return p, namePolicyFields(err)
	}
	return p, nil
}

func (s Source) boolVar(name string, dst *bool, errs *[]error) {
	v, label, ok := s.get(name)
	if !ok {
		return
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: want true or false", label, v))
		return
	}
	*dst = b
}

// policyFieldVars maps Policy JSON fields to the variables that set them.
var policyFieldVars = map[string]string{
	"approvalsRequired":   EnvApprovalsRequired,
	"approvers":           EnvApprovers,
	"escalateTo":          EnvEscalateTo,
	"approvalTimeout":     EnvApprovalTimeout,
	"escalationFraction":  EnvEscalationFraction,
	"minRetention":        EnvRetentionMin,
	"maxRetention":        EnvRetentionMax,
	"defaultRetention":    EnvRetentionDefault,
	"exportLookback":      EnvExportLookback,
	"exportWindow":        EnvExportWindow,
	"protectedUserIds":    EnvProtectedUserIDs,
	"approveArchive":      EnvApproveArchive,
	"requesterMayApprove": EnvRequesterMayApprove,
}

// namePolicyFields rewrites a policy validation error so that each field names its variable.
func namePolicyFields(err error) error {
	var v *workflows.ValidationError
	if !errors.As(err, &v) {
		return fmt.Errorf("invalid policy: %w", err)
	}
	errs := make([]error, 0, len(v.Fields))
	for _, f := range v.Fields {
		field := f.Field
		if i := strings.IndexByte(field, '['); i >= 0 {
			field = field[:i]
		}
		name := policyFieldVars[field]
		if name == "" {
			name = EnvPolicyFile
		}
		errs = append(errs, fmt.Errorf("invalid policy: %s (policy field %s): %s", name, f.Field, f.Message))
	}
	return errors.Join(errs...)
}

func applyPolicyFile(p *workflows.Policy, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read policy file: %w", err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return fmt.Errorf("policy file is neither JSON nor YAML: %w", err)
	}
	var f policyFile
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("policy file: %w (keys: approvalsRequired, approveArchive, requesterMayApprove, approvers, approvalTimeout, escalationFraction, escalateTo, defaultRetention, minRetention, maxRetention, exportLookback, exportWindow, protectedUserIds)", err)
	}
	if f.ApprovalsRequired != nil {
		p.ApprovalsRequired = *f.ApprovalsRequired
	}
	if f.ApproveArchive != nil {
		p.ApproveArchive = *f.ApproveArchive
	}
	if f.RequesterMayApprove != nil {
		p.RequesterMayApprove = *f.RequesterMayApprove
	}
	if f.EscalationFraction != nil {
		p.EscalationFraction = *f.EscalationFraction
	}
	if f.Approvers != nil {
		p.Approvers = f.Approvers
	}
	if f.EscalateTo != nil {
		p.EscalateTo = f.EscalateTo
	}
	if f.ProtectedUserIDs != nil {
		p.ProtectedUserIDs = f.ProtectedUserIDs
	}
	var errs []error
	for _, d := range []struct {
		key, v string
		dst    *time.Duration
	}{
		{"approvalTimeout", f.ApprovalTimeout, &p.ApprovalTimeout},
		{"defaultRetention", f.DefaultRetention, &p.DefaultRetention},
		{"minRetention", f.MinRetention, &p.MinRetention},
		{"maxRetention", f.MaxRetention, &p.MaxRetention},
		{"exportLookback", f.ExportLookback, &p.ExportLookback},
		{"exportWindow", f.ExportWindow, &p.ExportWindow},
	} {
		if d.v == "" {
			continue
		}
		iso, err := workflows.ParseDuration(d.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.key, err))
			continue
		}
		*d.dst = time.Duration(iso)
	}
	return errors.Join(errs...)
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
