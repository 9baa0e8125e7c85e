package config

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// Settings of the worker's Temporal Worker Deployment version.
const (
	EnvDeploymentName     = "OFFBOARD_DEPLOYMENT_NAME"
	EnvBuildID            = "OFFBOARD_BUILD_ID"
	DefaultDeploymentName = "offboard"
)

// maxVersionField is the longest deployment name or build ID Temporal takes with its default
// limit.maxIDLength of 1000: (1000 - len("temporal-sys-worker-deployment-version:")) / 2.
const maxVersionField = 480

// Deployment is the Temporal Worker Deployment version a worker runs as. An empty BuildID is an
// unversioned worker, which takes any task of the task queue that no version claims.
type Deployment struct {
	// Name is the Worker Deployment: every version of Offboard's workers shares it.
	Name string
	// BuildID names this worker's code; empty means unversioned.
	BuildID string
}

// Versioned reports whether the worker has a build ID.
func (d Deployment) Versioned() bool { return d.BuildID != "" }

// String is the version as Temporal's TemporalWorkerDeploymentVersion search attribute holds
// it, name:buildID, or "unversioned".
func (d Deployment) String() string {
	if !d.Versioned() {
		return "unversioned"
	}
	return d.Name + ":" + d.BuildID
}

// ListedIn reports whether info, the description of d's deployment, lists d's version: a worker
// of it has polled.
func (d Deployment) ListedIn(info client.WorkerDeploymentInfo) bool {
	return slices.ContainsFunc(info.VersionSummaries, func(s client.WorkerDeploymentVersionSummary) bool { return s.Version.BuildID == d.BuildID })
}

// VersionName is a version as name:buildID; nil, a deployment's routing without a current or
// ramping version, is the unversioned workers.
func VersionName(v *worker.WorkerDeploymentVersion) string {
	if v == nil {
		return Deployment{}.String()
	}
	return Deployment{Name: v.DeploymentName, BuildID: v.BuildID}.String()
}

// Deployment reads OFFBOARD_DEPLOYMENT_NAME and OFFBOARD_BUILD_ID.
func (s Source) Deployment() (Deployment, error) {
	name, err := s.DeploymentName()
	v, label, ok := s.get(EnvBuildID)
	if !ok {
		return Deployment{Name: name}, err
	}
	return Deployment{Name: name, BuildID: v}, errors.Join(err, CheckBuildID(label, v))
}

// DeploymentName reads OFFBOARD_DEPLOYMENT_NAME.
func (s Source) DeploymentName() (string, error) {
	v, label, ok := s.get(EnvDeploymentName)
	if !ok {
		return DefaultDeploymentName, nil
	}
	if err := checkVersionField(label, v, false); err != nil {
		return DefaultDeploymentName, err
	}
	return v, nil
}

// CheckBuildID refuses a build ID Temporal would refuse or that would not survive a shell or a
// visibility query unquoted: label names the setting or flag in the error.
func CheckBuildID(label, v string) error { return checkVersionField(label, v, true) }

// checkVersionField allows letters, digits, '-' and '_', and '.' and '+' in a build ID (a
// release such as 1.4.2+3f2a9c1); Temporal refuses '.' and ':' in a deployment name, and
// either starting with "__".
func checkVersionField(label, v string, buildID bool) error {
	what, chars, example := "a deployment name", "letters, digits, - and _", "offboard"
	if buildID {
		what, chars, example = "a build ID", "letters, digits, - _ . and +", "a release tag or commit such as 2026.12.01-3f2a9c1"
	}
	if v == "" || len(v) > maxVersionField {
		return fmt.Errorf("%s=%q: want %s of 1 to %d characters: %s, e.g. %s", label, v, what, maxVersionField, chars, example)
	}
	for i, r := range []rune(v) {
		if !allowed(r, i == 0, buildID) {
			return fmt.Errorf("%s=%q: %q at position %d is not allowed: want %s of %s, starting with a letter or digit, e.g. %s", label, v, r, i+1, what, chars, example)
		}
	}
	return nil
}

// allowed reports whether r may stand in a deployment name or build ID, first or later.
func allowed(r rune, first, buildID bool) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case first:
		return false
	case r == '-', r == '_':
		return true
	}
	return buildID && (r == '.' || r == '+')
}
