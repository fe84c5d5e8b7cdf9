// Package httpboot is bootwright's HTTP side: the iPXE boot script, each
// machine's rendered menu, kernels and initrds from the assets directory
// (with Range requests) and the NBPs for UEFI HTTP Boot clients; and, over
// the state store, the JSON API, the status page at / (every machine in
// machines.yaml, then a bounded number of the machines discovered most
// recently, searchable with ?q=) and a page per machine at
// /machines/{mac}.
//
// Routes are declared in one place (Server.Handler); handlers render into a
// buffer and write a complete body or an error status, never half a menu.
package httpboot
