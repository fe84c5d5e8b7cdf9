// Package groupcommit writes items to a bbolt database through one
// goroutine that group-commits: everything queued while the previous
// transaction was being synced to disk goes into the next one, so a
// single fsync makes a whole batch durable and its cost is shared by
// every item in it.
//
// A Writer is generic over the item type; its owner supplies Apply, which
// writes one batch inside one bolt.Tx. Submit blocks while the queue is
// full and reports through a callback once the item is durable, for
// callers that must not answer before then (the DHCP lease store sends an
// ACK only after its lease is on disk). TrySubmit never blocks and reports
// a full queue instead, for callers that would rather drop than wait (the
// boot event store). The Writer does not own the database: its owner
// closes the Writer, then the database.
//
// Start writes to bbolt through Config.Apply; New writes through
// Config.Commit to any store that commits a batch at once (PostgreSQL). A
// Config.Retry keeps a failed batch and tries it again while the store is
// unreachable, so a queue of events outlives an outage of its database.
package groupcommit
