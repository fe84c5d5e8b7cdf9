package httpboot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bootwright/bootwright/internal/state"
)

// replicaList is what /api/v1/replicas and the status page show of the
// replicas sharing the state database: each with its address, version,
// config commit and last heartbeat, and a warning when the live ones
// serve different commits (a git sync that failed on one, a replica not
// yet upgraded).
type replicaList struct {
	Replicas []state.Replica `json:"replicas"`
	Warning  string          `json:"warning,omitempty"`
	Error    string          `json:"error,omitempty"` // the database could not be read
}

// replicas lists the replicas; none without a shared state database.
func (s *Server) replicas() replicaList {
	var l replicaList
	if s.Boot.State == nil {
		return l
	}
	rs, err := s.Boot.State.Replicas()
	if err != nil {
		l.Error = err.Error()
		return l
	}
	l.Replicas = rs
	commits := map[string][]string{}
	for _, r := range rs {
		if r.Live {
			commits[r.Commit] = append(commits[r.Commit], r.ID)
		}
	}
	if len(commits) > 1 {
		var parts []string
		for c, ids := range commits {
			parts = append(parts, fmt.Sprintf("%s on %s", short(c), strings.Join(ids, ", ")))
		}
		slices.Sort(parts)
		l.Warning = "replicas serve different config commits: " + strings.Join(parts, "; ")
	}
	return l
}

func short(commit string) string {
	if commit == "" {
		return "(no commit)"
	}
	return commit[:min(12, len(commit))]
}

// apiReplicas serves the replica list as JSON.
func (s *Server) apiReplicas(w http.ResponseWriter, _ *http.Request) {
	body, _ := json.MarshalIndent(s.replicas(), "", "  ")
	writeBody(w, "application/json", append(body, '\n'))
}
