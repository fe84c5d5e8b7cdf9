// Package pgstore keeps bootwright's shared state in PostgreSQL, for
// replicas that serve one network together: machines, events and
// bindings, one per MAC and address family (a state.Shared backend), full-mode leases (a lease.Store
// whose claims the database decides), the token key, and the replicas
// themselves with their heartbeats.
//
// Open connects, runs the schema migrations under an advisory lock (so
// replicas starting together do not race, and one that finds a newer
// schema than it knows refuses to start), and registers this replica.
// A heartbeat every second measures the database's clock against this
// host's (the replicas share the database's clock for leases, tokens and
// revocations, and a host far off is warned about) and reads which
// replicas are live. A replica whose heartbeat is older than DeadAfter is
// dead; the DHCP clients are split among the live ones by rendezvous
// hashing of their MAC (Owner), so a DISCOVER gets one offer, and a dead
// replica's clients are answered by the others within DeadAfter plus one
// heartbeat.
//
// When the database cannot be reached (a failed connection, or queries
// timing out with no heartbeat for DeadAfter), Down says so: the state store
// queues its events (state.SharedQueue), the lease store refuses new
// claims, and the heartbeat keeps trying, so that service resumes by
// itself when the database is back. All SQL is parameterised; text a
// client controls is stored as JSON (the json type keeps \u0000) and read
// back as it was.
package pgstore
