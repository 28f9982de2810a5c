package main

import (
	"fmt"
	"io"
	"os"

	"rrdash/store/carbonconf"
)

const importCarbonUsage = "usage: rrdash import-carbon-config STORAGE-SCHEMAS.CONF [STORAGE-AGGREGATION.CONF]\n" +
	"  Prints the [[retention]] rules (TOML, for serve's config file) equivalent to carbon's storage schemas\n" +
	"  and aggregation rules: retentions, aggregationMethod (average min max last) and xFilesFactor (as xff = 1 − xFilesFactor),\n" +
	"  with carbon's data model and late-point rule (model = \"graphite\", late = \"overwrite\")."

const (
	deleteUsage = "usage: rrdash delete NAME…\n  Deletes series for good (their archives; tag queries and listings no longer find them)."
	renameUsage = "usage: rrdash rename OLD NEW\n  Renames series OLD (archives, state, metadata) to NEW, which must not exist; a crash leaves one of the two."
)

// runImportCarbonConfig translates carbon's configuration files; it opens
// no data directory.
func runImportCarbonConfig(args []string, stdout io.Writer) error {
	if len(args) < 1 || len(args) > 2 {
		return usageError{importCarbonUsage}
	}
	sf, err := os.Open(args[0])
	if err != nil {
		return fmt.Errorf("import-carbon-config: %w", err)
	}
	defer sf.Close()
	var agg io.Reader
	aggName := ""
	if len(args) == 2 {
		af, err := os.Open(args[1])
		if err != nil {
			return fmt.Errorf("import-carbon-config: %w", err)
		}
		defer af.Close()
		agg, aggName = af, args[1]
	}
	rules, comments, err := carbonconf.Translate(sf, args[0], agg, aggName)
	if err != nil {
		return fmt.Errorf("import-carbon-config: %w", err)
	}
	return carbonconf.WriteTOML(stdout, rules, comments)
}
