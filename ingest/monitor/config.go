package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// plainDefinition is Definition without its JSON methods, so that they can
// encode the rest of the fields and shadow the durations with strings such
// as "30s", the form a config file uses.
type plainDefinition Definition

// MarshalJSON writes durations as strings. It includes secret values: it is
// the storage format, which must keep them to run the script.
func (d Definition) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		plainDefinition
		Interval string `json:"interval"`
		Timeout  string `json:"timeout"`
	}{plainDefinition(d), d.Interval.String(), d.Timeout.String()})
}

// UnmarshalJSON reads a definition with durations as strings ("1m30s") and
// refuses unknown fields, so a misspelt option is an error, not ignored.
func (d *Definition) UnmarshalJSON(b []byte) error {
	aux := struct {
		*plainDefinition
		Interval string `json:"interval"`
		Timeout  string `json:"timeout"`
	}{plainDefinition: (*plainDefinition)(d)}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return fmt.Errorf("monitor definition: %w", err)
	}
	var err error
	if d.Interval, err = parseDur(aux.Interval); err != nil {
		return fmt.Errorf("monitor %q: interval: %w", d.Name, err)
	}
	if d.Timeout, err = parseDur(aux.Timeout); err != nil {
		return fmt.Errorf("monitor %q: timeout: %w", d.Name, err)
	}
	return nil
}

func parseDur(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("missing (want a duration such as \"30s\" or \"5m\")")
	}
	return time.ParseDuration(s)
}
