// Package version names the build of Offboard's programs: the one home of the version string
// that --version prints, the export manifest's toolVersion and the audit record carry.
//
// The module version and the VCS revision come from the Go build information
// (runtime/debug.ReadBuildInfo). A build without them, such as the Docker image's (its context
// has no .git), sets them with the linker:
//
//	go build -ldflags "-X github.com/offboard/offboard/internal/version.Version=v1.2.3 -X github.com/offboard/offboard/internal/version.Commit=abc123"
package version

import (
	"runtime/debug"
	"strings"
)

// Version and Commit, when set by the linker (-X), take precedence over the build information.
var (
	// Version is the release, such as v1.2.3.
	Version string
	// Commit is the VCS revision the build came from.
	Commit string
)

// Info is what is known of the running build.
type Info struct {
	// Version is the release or module version; "(devel)" for an unreleased build.
	Version string `json:"version"`
	// Commit is the VCS revision; empty when unknown.
	Commit string `json:"commit,omitempty"`
	// Modified reports that the working tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
}

// Get returns the build's version: the linker's values over the build information.
func Get() Info {
	var in Info
	if bi, ok := debug.ReadBuildInfo(); ok {
		in.Version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if Version != "" {
		in.Version = Version
	}
	if Commit != "" {
		in.Commit = Commit
	}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	return in
}

// String is the version as one line: "v1.2.3 (commit abc123, modified)".
func (in Info) String() string {
	var extra []string
	if in.Commit != "" {
		extra = append(extra, "commit "+in.Commit)
	}
	if in.Modified {
		extra = append(extra, "modified")
	}
	if len(extra) == 0 {
		return in.Version
	}
	return in.Version + " (" + strings.Join(extra, ", ") + ")"
}

// String is Get().String().
func String() string { return Get().String() }
