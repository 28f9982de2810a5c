package store

// SyncJournal returns once every journal record appended so far is on
// disk: every batch ApplyAsync has returned for is durable then, though
// its rows may still wait in memory until its wait writes them (and every
// read, checkpoint and close writes them first). A group commit calls it
// to acknowledge a group before that write-back, which takes the store's
// lock that the next group's apply holds.
func (db *DB) SyncJournal() error { return db.jr.syncAll() }
