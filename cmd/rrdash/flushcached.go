package main

import (
	"fmt"
	"strings"
)

// runFlushcached is `rrdtool flushcached NAME…`: rrdcached writes the
// updates it holds for the files to disk. rrdash holds none back: an
// update is in the journal before it is acknowledged and every reader
// (locally or through the server) sees it at once, so there is nothing
// to write; the names are checked (a missing series is an error, as a
// missing file is for rrdtool) and nothing is printed.
func runFlushcached(db seriesStore, args []string) error {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return usageError{fmt.Sprintf("flushcached: unknown option %s", a)}
		}
	}
	for _, name := range args {
		if _, err := db.LastUpdate(name); err != nil {
			return err
		}
	}
	return nil
}
