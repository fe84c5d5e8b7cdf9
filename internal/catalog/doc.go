// Package catalog lists the URLs a menu tree boots machines from (the
// installer catalog of menus/catalog-*.yaml and any entry of a user's
// own menus) and asks each upstream whether they are still there: what
// `bootwright catalog` and `bootwright catalog check` print, so that a
// catalog can be kept current.
//
// List resolves the menu an unknown machine (or a given one) gets under
// every arch family and returns one Item per entry and URL: its kernel,
// initrds, checksum list, chain target and the URLs its kernel arguments
// name (an installer's repository, a live system's root image). Check
// sends each distinct URL a HEAD request (GET of one byte when HEAD is
// refused), a few at a time, each bounded by a timeout, and says which
// are dead and which have moved (a permanent redirect).
package catalog
