// Package pipelines embeds the declarative pipeline definitions that vindex
// submits to its runner. The YAML is the only definition: Go code reads the
// step names from it and never re-declares order, retries or timeouts.
package pipelines

import (
	_ "embed"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Ingest is pipelines/ingest.yaml.
//
//go:embed ingest.yaml
var Ingest string

// Step is what vindex needs to know of a step: its name and what it waits for.
type Step struct {
	Name    string   `yaml:"name"`
	Depends []string `yaml:"depends"`
}

// Spec is the part of a DAG file vindex reads.
type Spec struct {
	Name  string `yaml:"name"`
	Steps []Step `yaml:"steps"`
}

// Parse reads a DAG file.
func Parse(doc string) (Spec, error) {
	var s Spec
	if err := yaml.Unmarshal([]byte(doc), &s); err != nil {
		return Spec{}, fmt.Errorf("parse pipeline: %w", err)
	}
	if s.Name == "" || len(s.Steps) == 0 {
		return Spec{}, fmt.Errorf("parse pipeline: no name or no steps")
	}
	return s, nil
}

// StepNames lists the steps in file order.
func (s Spec) StepNames() []string {
	names := make([]string, len(s.Steps))
	for i, st := range s.Steps {
		names[i] = st.Name
	}
	return names
}
